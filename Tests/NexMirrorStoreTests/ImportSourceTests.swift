import NexMirrorCore
import NexMirrorStore
import Testing

@Suite struct ImportSourceTests {
    static func delivery(_ line: String) -> Result<NewDelivery, ImportError> {
        ImportSource.delivery(fromLine: Array(line.utf8))
    }

    @Test func aBodyIsKeptExactlyAsWritten() throws {
        let text = try Self.delivery(#"{"action": "CoworkerCreate", "body": "[{\"Id\":1}]"}"#).get()
        #expect(text.action.name == "CoworkerCreate")
        #expect(String(decoding: text.body, as: UTF8.self) == #"[{"Id":1}]"#)
        let array = try Self.delivery(#"{"action": 3, "body": [ {"Id": 2,  "X":"é"} ] }"#).get()
        #expect(String(decoding: array.body, as: UTF8.self) == #"[ {"Id": 2,  "X":"é"} ]"#)
        let object = try Self.delivery(#"{"body": {"Id":3} , "action":"bookingcreate"}"#).get()
        #expect(String(decoding: object.body, as: UTF8.self) == #"[{"Id":3}]"#)
        #expect(object.source == .import)
    }

    @Test func membersAreFoundByTheirDecodedNameAndTheLastRepeatedOneWins() throws {
        let escaped = try Self.delivery(#"{"action":"TeamCreated","b\u006fdy":[{"Id":4}]}"#).get()
        #expect(String(decoding: escaped.body, as: UTF8.self) == #"[{"Id":4}]"#)
        let repeated = try Self.delivery(#"{"action":"TeamCreated","body":[{"Id":5}],"body":[{"Id":6}]}"#).get()
        #expect(String(decoding: repeated.body, as: UTF8.self) == #"[{"Id":6}]"#)
    }

    @Test func aLineThatIsNoDeliverySaysWhy() {
        let cases: [(String, ImportError)] = [
            (#"[{"Id":1}]"#, .notADelivery(found: "array", arrayHint: true)),
            (#"{"body":[]}"#, .missingAction),
            (#"{"action":true,"body":[]}"#, .actionNotNameOrId(found: "boolean")),
            (#"{"action":"Nope","body":[]}"#, .unknownAction("Nope")),
            (#"{"action":"CoworkerCreate"}"#, .missingBody),
            (#"{"action":"CoworkerCreate","body":12}"#, .badBody(found: "number")),
        ]
        for (line, expected) in cases {
            guard case .failure(let error) = Self.delivery(line) else {
                Issue.record("\(line) was accepted")
                continue
            }
            #expect(error == expected, "\(line)")
        }
        guard case .failure(.syntax(let message)) = Self.delivery(#"{"action":"#) else {
            Issue.record("invalid JSON was accepted")
            return
        }
        #expect(message.hasPrefix("invalid JSON at byte"))
    }

    @Test func anArrayOfDTOsOrRecordsBecomesOneDeliveryPerElement() async throws {
        let file = Array("{\"Total\": 2,\n \"Records\": [{\"Id\":1},\n 7, {\"Id\": 2}]}".utf8)
        var bodies: [String] = []
        var problems: [String] = []
        try await ImportSource.array(
            file, action: ActionCatalog.action(named: "CoworkerCreate")!, report: { problems.append($0) }
        ) { delivery, _ in bodies.append(String(decoding: delivery.body, as: UTF8.self)) }
        #expect(bodies == [#"[{"Id":1}]"#, #"[{"Id": 2}]"#])
        #expect(problems == ["3: element 2 is a JSON number, expected a DTO object"])
        await #expect(throws: ImportError.notAnArray(found: "string")) {
            try await ImportSource.array(Array(#""x""#.utf8), action: ActionCatalog.action(named: "CoworkerCreate")!,
                                         report: { _ in }) { _, _ in }
        }
    }
}
