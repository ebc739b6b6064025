import Foundation
import NexMirrorCore
import NexMirrorStore
import NexudusFixtures
import Testing

/// The personal-data catalogue, kind by kind, against Json.NET bodies: what `forget` erases from
/// each and what it keeps for the replica and the reports.
@Suite struct PersonalDataTests {
    /// Ren Kowalski, named by the booking, invoice, team, check-in and proposal fixtures.
    static let ren: Int64 = 1_419_000_582
    /// José Müller, the coworker of the Coworker and contract fixtures.
    static let jose: Int64 = 1_419_009_389

    static func erase(_ name: String, subjects: ErasureSubjects) throws -> (before: [String: JSONValue], after: [String: JSONValue], erased: ErasedBody?) {
        let body = NexudusFixtures.body(name)
        let action = try #require(ActionCatalog.action(named: NexudusFixtures.action(of: name)))
        let erased = BodyEraser.erase(body, action: action, entityType: action.entityType, subjects: subjects)
        return (try dto(body), try dto(erased?.body ?? body), erased)
    }

    static func dto(_ body: [UInt8]) throws -> [String: JSONValue] {
        guard case .array(let elements) = try JSONParser.parse(body), case .object(let dto)? = elements.first else {
            throw CocoaError(.coderInvalidValue)
        }
        return dto
    }

    /// Fields that changed, and a check that nothing else did and the shape stayed.
    static func changedFields(_ before: [String: JSONValue], _ after: [String: JSONValue]) -> Set<String> {
        #expect(Set(before.keys) == Set(after.keys), "same members")
        let changed = Set(before.keys.filter { before[$0] != after[$0] })
        for field in changed { #expect(after[field] == .null, "\(field) becomes null") }
        return changed
    }

    @Test(arguments: ["CoworkerCreate", "CoworkerUpdate", "CoworkerDelete"])
    func aSubjectsOwnDeliveryKeepsOnlyTheKeepList(_ name: String) throws {
        guard case .number(let id)? = try Self.dto(NexudusFixtures.body(name))["Id"], let subject = Int64(id) else {
            Issue.record("\(name) has no Id")
            return
        }
        let (before, after, erased) = try Self.erase(name, subjects: ErasureSubjects(ids: [subject]))
        let erasedBody = try #require(erased)
        let changed = Self.changedFields(before, after)
        let expected = Set(before.filter { !$0.value.isNull && !PersonalData.keptInSubject.contains($0.key) }.keys)
        #expect(changed == expected)
        #expect(changed.isSuperset(of: ["FullName", "Email", "MobilePhone", "BillingEmail", "CompanyName", "ToStringText", "Gender", "UpdatedBy"]))
        for kept in ["Id", "UniqueId", "UpdatedOn", "Active", "Archived", "TariffId", "TariffName", "InvoicingBusinessId", "CoworkerType"] {
            #expect(after[kept] == before[kept], "\(kept) kept")
        }
        let text = String(decoding: erasedBody.body, as: UTF8.self)
        for field in ["FullName", "Email", "MobilePhone", "BillingEmail"] {
            guard case .string(let value)? = before[field] else { continue }
            #expect(!text.contains(value), "\(field)'s value is gone")
        }
        #expect(erasedBody.sha256 == BodyEraser.sha256(erasedBody.body))
    }

    @Test func aFieldNexudusAddsLaterToACoworkerIsErased() throws {
        let action = try #require(ActionCatalog.action(named: "CoworkerUpdate"))
        let body = Array(#"[{"Id":7,"UpdatedOn":"2026-03-02T08:04:09Z","FavouriteDrink":"oat flat white","Active":true}]"#.utf8)
        let erased = try #require(BodyEraser.erase(body, action: action, entityType: "Coworker", subjects: ErasureSubjects(ids: [7])))
        #expect(String(decoding: erased.body, as: UTF8.self) == #"[{"Id":7,"UpdatedOn":"2026-03-02T08:04:09Z","FavouriteDrink":null,"Active":true}]"#)
    }

    @Test func anotherCoworkersDeliveryIsUntouched() throws {
        let (_, _, erased) = try Self.erase("CoworkerUpdate", subjects: ErasureSubjects(ids: [Self.ren]))
        #expect(erased == nil)
    }

    @Test(arguments: [
        ("BookingCreate", ["CoworkerFullName"]),
        ("CoworkerInvoiceCreate", ["CoworkerFullName"]),
        ("CheckinCreated", ["CoworkerFullName", "ToStringText"]),
        ("ProposalCreated", ["CoworkerFullName"]),
        ("TeamCreated", ["PayingMemberFullName"]),
    ])
    func aReferringDeliveryLosesTheFieldsDescribingTheSubject(_ name: String, _ fields: [String]) throws {
        // "Team Kowalski" does not hold the full name, so the team keeps its name.
        let subjects = ErasureSubjects(ids: [Self.ren], values: ["Ren Kowalski"])
        let (before, after, erased) = try Self.erase(name, subjects: subjects)
        #expect(erased != nil)
        #expect(Self.changedFields(before, after) == Set(fields))
        for kept in ["Id", "CoworkerId", "TotalAmount", "TaxAmount", "CurrencyCode", "FromTime", "ToTime", "ResourceName", "BusinessName", "Price", "TeamMembers", "PayingMemberId"] {
            #expect(after[kept] == before[kept], "\(name): \(kept) kept")
        }
    }

    @Test func aContractOfTheSubjectLosesItsName() throws {
        let (before, after, _) = try Self.erase("CoworkerContractCreate", subjects: ErasureSubjects(ids: [Self.jose]))
        #expect(Self.changedFields(before, after) == ["CoworkerFullName"])
        #expect(after["Price"] == before["Price"])
    }

    @Test func aDeliveryNamingAnotherCoworkerIsUntouched() throws {
        for name in ["BookingCreate", "CoworkerInvoiceCreate", "TeamCreated", "CheckinCreated", "ProposalCreated"] {
            let (_, _, erased) = try Self.erase(name, subjects: ErasureSubjects(ids: [Self.jose], values: ["José Müller"]))
            #expect(erased == nil, "\(name)")
        }
    }

    @Test func theSubjectsEmailAsUpdatedByIsErasedEvenWhereItIsNotReferenced() throws {
        let action = try #require(ActionCatalog.action(named: "BookingUpdate"))
        let body = Array(#"[{"Id":9,"CoworkerId":5,"CoworkerFullName":"Ada Lovelace","UpdatedOn":"2026-03-02T08:04:09Z","UpdatedBy":"jose@example.org","Notes":"call jose@example.org"}]"#.utf8)
        let subjects = ErasureSubjects(ids: [7], values: ["José Müller"], identifying: ["jose@example.org"])
        let erased = try #require(BodyEraser.erase(body, action: action, entityType: "Booking", subjects: subjects))
        #expect(String(decoding: erased.body, as: UTF8.self)
            == #"[{"Id":9,"CoworkerId":5,"CoworkerFullName":"Ada Lovelace","UpdatedOn":"2026-03-02T08:04:09Z","UpdatedBy":null,"Notes":null}]"#)
    }

    @Test func anAdministratorsEmailInTheSubjectsRecordIsNotHuntedElsewhere() throws {
        let (_, _, erased) = try Self.erase("CoworkerUpdate", subjects: ErasureSubjects(ids: [Self.jose]))
        var subjects = ErasureSubjects(ids: [Self.jose])
        subjects.learn(from: try #require(erased))
        #expect(!subjects.values.contains("admin@space.example"))
        #expect(subjects.identifying == ["m1419009389+36@example.org", "+44 7700 957705"])
        #expect(subjects.values.contains("José Müller"))
    }

    @Test func aBodyThatIsNotADTOHasTheValuesMasked() throws {
        let action = try #require(ActionCatalog.action(named: "CoworkerUpdate"))
        let body = Array(#"[{"Id":7,"Email":"jose@example.org""#.utf8)
        let erased = try #require(BodyEraser.erase(body, action: action, entityType: "Coworker", subjects: ErasureSubjects(ids: [7], identifying: ["jose@example.org"])))
        #expect(String(decoding: erased.body, as: UTF8.self) == #"[{"Id":7,"Email":"****************""#)
    }
}
