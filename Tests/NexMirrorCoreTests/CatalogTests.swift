import Foundation
import NexudusFixtures
import Testing
@testable import NexMirrorCore

@Suite struct CatalogTests {
    @Test func catalogMatchesTheActionList() throws {
        let text = try String(
            contentsOf: NexudusFixtures.directory.deletingLastPathComponent().appendingPathComponent("webhook-actions.tsv"),
            encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t") }
        #expect(rows.count == 90)
        #expect(ActionCatalog.all.count == 90)
        for row in rows {
            let action = try #require(ActionCatalog.action(id: Int(row[0])!))
            #expect(action.name == String(row[1]))
        }
    }

    @Test func lookupIsCaseInsensitiveAndAcceptsIds() {
        #expect(ActionCatalog.action(named: "coworkerinvoicepaid")?.id == 21)
        #expect(ActionCatalog.action(named: "BOOKINGDELETE")?.change == .delete)
        #expect(ActionCatalog.action(named: "45")?.name == "HelDeskMessageCreated")
        #expect(ActionCatalog.action(named: "HelpDeskMessageCreated") == nil)
        #expect(ActionCatalog.action(named: "91") == nil)
    }

    @Test func projectedActionsCarryTheirEntityTypes() {
        #expect(ActionCatalog.action(named: "CoworkerContractCancel")?.entityType == "CoworkerContract")
        #expect(ActionCatalog.action(named: "CoworkerContractCancel")?.change == .update)
        #expect(ActionCatalog.action(named: "CoworkerInvoiceLedgerEntryDelete")?.entityType == "CoworkerInvoiceLedgerEntry")
        #expect(ActionCatalog.action(named: "CoworkerInvoiceCreateFirst")?.change == .create)
        #expect(ActionCatalog.action(named: "SendWelcomeEmail")?.change == .notify)
        #expect(ActionCatalog.all.filter { $0.change == .delete }.count == 19)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2022-05-13T20:55:44.5515198Z", "2022-05-13T20:55:44.5515198Z"),
        ("2022-05-13T20:55:44Z", "2022-05-13T20:55:44.0000000Z"),
        ("2022-05-13T20:55:44.5Z", "2022-05-13T20:55:44.5000000Z"),
        ("2022-05-13T20:55:44.029594Z", "2022-05-13T20:55:44.0295940Z"),
        ("2022-05-13T22:55:44.12+02:00", "2022-05-13T20:55:44.1200000Z"),
        ("2022-05-13T00:30:00-05:30", "2022-05-13T06:00:00.0000000Z"),
        ("2022-05-13T20:55:44.1234567", "2022-05-13T20:55:44.1234567Z"),
        ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00.0000000Z"),
        ("2024-02-29T12:00:00.123456789Z", "2024-02-29T12:00:00.1234567Z"),
        ("2026-03-12", "2026-03-12T00:00:00.0000000Z"),
    ])
    func normalisesToUTCWithSevenDigits(input: String, expected: String) {
        #expect(Timestamp.normalize(input) == expected)
    }

    @Test(arguments: ["", "2022-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "yesterday", "2022-05-13T25:00:00Z",
                      "2022-05-13T20:55:44.Z", "2022-05-13T20:55:44Zjunk"])
    func rejectsWhatIsNotATimestamp(input: String) {
        #expect(Timestamp(parsing: input) == nil)
    }

    @Test func comparesInstantsNotText() {
        let local = Timestamp(parsing: "2022-05-13T22:00:00+02:00")!
        let utc = Timestamp(parsing: "2022-05-13T20:00:00.0000001Z")!
        #expect(local < utc)
        #expect(local.description < utc.description)
    }
}

@Suite struct JSONTests {
    @Test func keepsNumberTextAndElementRanges() throws {
        let body = Array(#"  [ {"Price":0.09000,"Id":1419000582,"N":null,"S":"a\"\u00e9\ud83d\ude00"} ] "#.utf8)
        let parsed = try JSONParser.parseTopLevel(body)
        guard case .array(let elements) = parsed.value else { Issue.record("not an array"); return }
        #expect(elements[0]["Price"] == .number("0.09000"))
        #expect(elements[0]["Id"] == .number("1419000582"))
        #expect(elements[0]["N"] == .null)
        #expect(elements[0]["S"] == .string("a\"é😀"))
        let range = parsed.elementRanges[0]
        #expect(String(decoding: body[range], as: UTF8.self).hasPrefix(#"{"Price":0.09000"#))
        #expect(body[range.upperBound - 1] == UInt8(ascii: "}"))
    }

    @Test(arguments: ["", "[", "[1,]", "{\"a\":}", "[01]", "[1] x", "\"\u{01}\"", "[tru]", "[\"\\x\"]"])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func decodesEveryFixtureBody() throws {
        for file in NexudusFixtures.names {
            let name = NexudusFixtures.action(of: file)
            let action = try #require(ActionCatalog.action(named: name))
            let decoded = try DeliveryBody.decode(NexudusFixtures.body(file), for: action)
            #expect(decoded.entityId != nil, "\(file)")
            #expect(decoded.updatedOn != nil, "\(file)")
        }
    }

    @Test func explainsUndecodableBodies() {
        let action = ActionCatalog.action(named: "BookingCreate")!
        func problem(_ text: String) -> String? {
            do {
                _ = try DeliveryBody.decode(Array(text.utf8), for: action, requireArray: true)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem("{\"Id\":1}")?.contains("expected an array") == true)
        #expect(problem("[]")?.contains("0 elements") == true)
        #expect(problem("[{\"Name\":\"x\"}]") == "DTO has no Id")
        #expect(problem("[{\"Id\":\"12\"}]")?.contains("field Id") == true)
        #expect(problem("[{\"Id\":1,\"UpdatedOn\":\"soon\"}]")?.contains("UpdatedOn") == true)
        #expect(problem("not json")?.contains("not JSON") == true)
    }
}
