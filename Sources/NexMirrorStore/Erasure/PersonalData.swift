import NexMirrorCore

/// Where a subject's personal data lies in Nexudus deliveries (SPEC §10): the one file to review
/// when a data-protection officer asks what `forget` erases and what it keeps.
///
/// A subject is a coworker (member or contact). In its own Coworker deliveries every field is
/// personal except those on `keptInSubject`, so a field Nexudus adds later is erased rather
/// than leaked. In other deliveries only the fields that describe a referenced person are, and
/// only when they reference the subject.
public enum PersonalData {
    /// The kind whose deliveries are a subject's own.
    public static let subjectKind = "Coworker"

    /// Fields of a subject's own Coworker deliveries that identify nobody and that the replica
    /// and reports need: ids, times, type, flags, tariff, the location (business) and teams.
    public static let keptInSubject: Set<String> = [
        "Id", "UniqueId", "CreatedOn", "UpdatedOn", "IsNew", "LocalizationDetails",
        "CoworkerType", "Active", "Archived", "RegistrationDate",
        "TariffId", "TariffName", "InvoicingBusinessId", "InvoicingBusinessName",
        "Businesses", "Teams",
    ]

    /// A field of another kind that names a coworker, and the fields that then describe that
    /// coworker (by exact name or by prefix), erased when the coworker is a subject.
    public struct Reference: Sendable {
        /// An id field (`CoworkerId`) or an array of ids (`TeamMembers`).
        public let field: String
        public let describingPrefixes: [String]
        public let describingFields: Set<String>
        /// Fields matching a prefix that identify nobody (ids, the coworker's type).
        public let kept: Set<String>
    }

    /// Every kind's references; Booking, CoworkerInvoice, Checkin, Proposal, CoworkerContract and
    /// any other kind with a `CoworkerId` share the first. Teams name the paying member and list
    /// members and administrators by id only.
    public static let references: [Reference] = [
        Reference(
            field: "CoworkerId",
            describingPrefixes: ["Coworker", "Billing"],
            describingFields: ["Notes"],
            kept: ["CoworkerId", "CoworkerInvoiceId", "CoworkerContractId", "CoworkerCoworkerType", "CoworkerProductId"]),
        Reference(
            field: "PayingMemberId", describingPrefixes: ["PayingMember"], describingFields: [],
            kept: ["PayingMemberId"]),
        Reference(field: "TeamMembers", describingPrefixes: [], describingFields: [], kept: []),
        Reference(field: "TeamAdministrators", describingPrefixes: [], describingFields: [], kept: []),
    ]

    /// The subject's own fields whose values identify it anywhere in the log (an e-mail, a
    /// phone): a delivery that holds one of these values is rewritten even when it does not
    /// reference the subject (a colleague's record the subject edited names it in `UpdatedBy`).
    /// Names are not on it, nor billing e-mails: two members may share one.
    public static let identifyingEverywhere: Set<String> = [
        "Email", "MobilePhone", "PhoneNumber", "Landline",
    ]

    /// The field naming who last changed a record: the subject's e-mail when it edited its
    /// own profile, an administrator's otherwise (then kept).
    public static let updatedBy = "UpdatedBy"

    /// Shorter values are not searched for inside other strings: `GB`, `Mr`, `1` would match
    /// everywhere and identify nobody.
    public static let shortestSearchedValue = 5

    /// Whether `field` of a non-subject delivery describes the coworker named by `reference`.
    static func describes(_ field: String, _ reference: Reference) -> Bool {
        guard !reference.kept.contains(field) else { return false }
        return reference.describingFields.contains(field)
            || reference.describingPrefixes.contains { field.hasPrefix($0) }
    }

    /// The coworkers a DTO is about (its own id for a Coworker) or names in a reference field.
    public static func referencedCoworkers(in dto: DTO, entityType: String?, entityId: Int64?) -> [Int64] {
        var ids: [Int64] = []
        if entityType == subjectKind, let entityId { ids.append(entityId) }
        for reference in references {
            if let id = try? dto.int64(reference.field) {
                ids.append(id)
            } else if let list = try? dto.int64Array(reference.field) {
                ids.append(contentsOf: list)
            }
        }
        return ids
    }
}
