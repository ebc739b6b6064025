import Foundation
import NexMirrorCore

/// A Json.NET-shaped body for trying a deployment: `[ { … } ]` with the fields the replica
/// reads, a fresh `Id` and `UpdatedOn` so that each call is a new delivery.
enum SampleBody {
    static func make(for action: WebhookAction, now: Date = Date()) -> [UInt8] {
        let stamp = Timestamp(secondsSince1970: now.timeIntervalSince1970)
        let updatedOn = stamp.description
        let id = 1_400_000_000 + Int64(now.timeIntervalSince1970 * 1000) % 600_000_000
        let later = Timestamp(ticks: stamp.ticks + 3600 * Timestamp.ticksPerSecond).description
        var fields: [(String, String)]
        switch action.entityType {
        case "Coworker":
            fields = [("CoworkerType", "1"), ("FullName", quoted("Sample Member")),
                      ("Email", quoted("sample.\(id)@example.org")), ("CompanyName", "null"),
                      ("InvoicingBusinessId", "1376491116"), ("Active", "true"), ("Archived", "false"),
                      ("TariffId", "1400000000"), ("TariffName", quoted("Hot desk"))]
        case "Booking":
            fields = [("ResourceId", "1414925000"), ("ResourceName", quoted("Meeting room")),
                      ("CoworkerId", "1419000582"), ("FromTime", quoted(updatedOn)), ("ToTime", quoted(later)),
                      ("Tentative", "false"), ("Online", "true"), ("Invoiced", "false")]
        case "CoworkerInvoice":
            fields = [("CoworkerId", "1419000582"), ("BusinessId", "1376491116"),
                      ("InvoiceNumber", quoted("SAMPLE-\(id)")), ("CurrencyCode", quoted("GBP")),
                      ("TotalAmount", "120.00"), ("PaidAmount", "0.0"), ("Draft", "false"), ("Void", "false"),
                      ("Paid", "false"), ("PaidOn", "null"), ("Refunded", "false"), ("CreditNote", "false"),
                      ("DueDate", quoted(later))]
        case "Team":
            fields = [("BusinessId", "1376491116"), ("Name", quoted("Sample team")),
                      ("TeamMembers", "[1419000582]"), ("PayingMemberId", "1419000582")]
        case "Checkin":
            fields = [("CoworkerId", "1419000582"), ("BusinessId", "1376491116"), ("Source", "1"),
                      ("FromTime", quoted(updatedOn)), ("ToTime", "null")]
        case "Proposal":
            fields = [("IssuedById", "1376491116"), ("CoworkerId", "1419000582"), ("Reference", quoted("PR-\(id)")),
                      ("ProposalStatus", "1"), ("Price", "250.00"), ("TariffName", quoted("Hot desk")),
                      ("StartDate", quoted(later)), ("ExpirationDate", quoted(later))]
        case "CoworkerContract":
            fields = [("IssuedById", "1376491116"), ("CoworkerId", "1419000582"), ("TariffId", "1400000000"),
                      ("TariffName", quoted("Hot desk")), ("Price", "199.00"), ("StartDate", quoted(updatedOn)),
                      ("RenewalDate", quoted(later)), ("CancellationDate", "null"), ("Active", "true"),
                      ("Cancelled", "false")]
        default:
            fields = [("Name", quoted("Sample \(action.entityType ?? action.name)"))]
        }
        fields += [("Id", String(id)), ("UniqueId", quoted(UUID().uuidString.lowercased())),
                   ("CreatedOn", quoted(updatedOn)), ("UpdatedOn", quoted(updatedOn)),
                   ("UpdatedBy", quoted("nexmirror-send@example.org")), ("IsNew", "false"), ("SystemId", "null"),
                   ("ToStringText", quoted("Sample")), ("LocalizationDetails", "null"), ("CustomFields", "null")]
        let object = fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
        return Array("[{\(object)}]".utf8)
    }

    private static func quoted(_ text: String) -> String { "\"\(text)\"" }
}
