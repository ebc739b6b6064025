import Foundation
import NexudusFixtures
import Testing
@testable import NexMirrorCore

/// The DTO reads fields from byte positions found by a validating scan; these check that it
/// agrees with a full parse and keeps the parser's strictness.
@Suite struct DTOTests {
    private static let action = ActionCatalog.action(named: "CoworkerUpdate")!

    private static func dto(_ text: String) throws -> DTO {
        try DeliveryBody.decode(Array(text.utf8), for: action).dto
    }

    @Test func everyFixtureMemberReadsAsTheFullParseReadsIt() throws {
        for file in NexudusFixtures.names {
            let body = NexudusFixtures.body(file)
            let name = NexudusFixtures.action(of: file)
            let decoded = try DeliveryBody.decode(body, for: try #require(ActionCatalog.action(named: name)))
            guard case .array(let elements) = try JSONParser.parse(body), case .object(let members) = elements[0] else {
                Issue.record("\(file) is not an array of one object")
                continue
            }
            for (field, value) in members {
                #expect(decoded.dto[field] == value, "\(file): \(field)")
                if case .string(let text) = value { #expect(try decoded.dto.string(field) == text, "\(file): \(field)") }
                if case .number(let text) = value, let integer = Int64(text) {
                    #expect(try decoded.dto.int64(field) == integer, "\(file): \(field)")
                }
                if case .bool(let flag) = value { #expect(try decoded.dto.bool(field) == flag, "\(file): \(field)") }
            }
            #expect(decoded.dto["NoSuchField"] == nil)
        }
    }

    @Test func escapedStringsAndNamesDecode() throws {
        let dto = try Self.dto(#"[{"Id":1,"Full\u004eame":"A \"quoted\" na\u00efve\nname","UpdatedOn":"2026\u002d03-01T10:00:00Z"}]"#)
        #expect(try dto.string("FullName") == "A \"quoted\" naïve\nname")
        #expect(try dto.timestamp("UpdatedOn")?.description == "2026-03-01T10:00:00.0000000Z")
    }

    @Test func aRepeatedNameKeepsTheLastValue() throws {
        let dto = try Self.dto(#"[{"Id":1,"Email":"old@example.com","Email":"new@example.com"}]"#)
        #expect(try dto.string("Email") == "new@example.com")
    }

    @Test func integersAreExactAcrossInt64AndRejectFractions() throws {
        let dto = try Self.dto(
            #"[{"Id":9223372036854775807,"Min":-9223372036854775808,"Over":9223372036854775808,"#
                + #""Fraction":1.5,"Exponent":1e3,"Zero":-0,"Amount":12954.32,"Flag":false,"Null":null}]"#)
        #expect(try dto.int64("Id") == Int64.max)
        #expect(try dto.int64("Min") == Int64.min)
        #expect(try dto.int64("Zero") == 0)
        #expect(try dto.int64("Null") == nil)
        #expect(try dto.amount("Amount") == 12954.32)
        #expect(try dto.bool("Flag") == false)
        for field in ["Over", "Fraction", "Exponent"] {
            #expect(throws: DTO.FieldError.self, "\(field)") { try dto.int64(field) }
        }
        #expect(throws: DTO.FieldError(field: "Flag", expected: "a string", found: "boolean")) { try dto.string("Flag") }
        #expect(throws: DTO.FieldError(field: "Amount", expected: "an ISO-8601 date", found: "number 12954.32")) {
            try dto.timestamp("Amount")
        }
    }

    @Test(arguments: [
        "[{\"Id\":1,\"Name\":\"\u{01}\"}]", "[{\"Id\":1,\"Name\":\"x\"", "[{\"Id\":1}] trailing", "[{\"Id\":01}]",
        "[{\"Id\":1,\"Nested\":[1,{\"a\":}]}]", "[{\"Id\":1},]", "[{\"Id\":1,\"Name\":\"\\q\"}]",
    ])
    func invalidJSONAnywhereIsRejected(text: String) {
        do {
            _ = try Self.dto(text)
            Issue.record("\(text) was accepted")
        } catch let error as DeliveryBody.Problem {
            if case .notJSON = error {} else { Issue.record("\(text): \(error)") }
        } catch {
            Issue.record("\(text): \(error)")
        }
    }

    @Test func invalidUTF8InAStringIsRejected() {
        let body = Array("[{\"Id\":1,\"Name\":\"".utf8) + [0xC3, 0x28] + Array("\"}]".utf8)
        #expect(throws: DeliveryBody.Problem.self) { try DeliveryBody.decode(body, for: Self.action) }
    }
}

/// The REST API's shape: one object, as `GET …/{id}` answers.
@Suite struct APIRecordShapeTests {
    @Test func aBareObjectDecodesAsTheDTOAndKeepsItsExactRange() throws {
        let text = #"  {"Id":1419000582,"FullName":"Zoë","UpdatedOn":"2026-03-01T10:00"} "#
        let decoded = try DeliveryBody.decode(Array(text.utf8), for: ActionCatalog.action(named: "CoworkerUpdate")!)
        #expect(decoded.entityId == 1419000582)
        #expect(decoded.updatedOn?.description == "2026-03-01T10:00:00.0000000Z")
        #expect(try decoded.dto.string("FullName") == "Zoë")
        #expect(Array(text.utf8)[decoded.dtoRange] == Array(text.utf8).dropFirst(2).dropLast(1))
    }

    @Test func aWebhookBodyMustStillBeAnArray() {
        #expect(throws: DeliveryBody.Problem.self) {
            try DeliveryBody.decode(Array(#"{"Id":1}"#.utf8), for: ActionCatalog.action(named: "CoworkerUpdate")!, requireArray: true)
        }
    }
}

/// A body the fold cannot use is quarantined with the reason that applies, never a generic one.
@Suite struct DeliveryProblemTests {
    private func problem(_ body: String, action: String = "CoworkerUpdate") -> String? {
        do {
            _ = try DeliveryBody.decode(Array(body.utf8), for: ActionCatalog.action(named: action)!, requireArray: true)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aBadlyTypedIdKeepsItsOwnReason() {
        #expect(problem(#"[{"Id":"12"}]"#) == #"field Id: expected an integer, found string "12""#)
    }

    @Test func aBadlyTypedUpdatedOnKeepsItsOwnReason() {
        #expect(problem(#"[{"Id":1,"UpdatedOn":42}]"#) == "field UpdatedOn: expected an ISO-8601 date, found number 42")
    }

    @Test func onlyAMissingIdIsReportedAsMissing() {
        #expect(problem(#"[{"UpdatedOn":"2026-03-01T10:00:00Z"}]"#) == "DTO has no Id")
    }
}
