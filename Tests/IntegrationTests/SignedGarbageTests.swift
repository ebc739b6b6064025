import Foundation
import GRDB
import NexMirrorCore
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// A correctly signed body can hold anything. Each one below goes to the live server with a real
/// signature: every one is answered 200, kept byte for byte, quarantined with its reason where it
/// cannot be folded, and the server (ingest, background fold, then `rebuild`) never crashes.
@Suite(.serialized) struct SignedGarbageTests {
    /// What a body is expected to become in the log: `ok`, or quarantined with a reason holding
    /// `reason`; nil when either is fine (a bit flip may leave the body valid).
    struct Garbage {
        let name: String
        let action: String
        let body: [UInt8]
        let quarantined: String??
    }

    static func deep(_ open: String, _ close: String, _ depth: Int) -> String {
        String(repeating: open, count: depth) + String(repeating: close, count: depth)
    }

    static let hostile: [Garbage] = [
        Garbage(name: "30,000 nested arrays", action: "CoworkerCreate",
                body: Array(deep("[", "]", 30_000).utf8), quarantined: "nested deeper than 512 levels"),
        Garbage(name: "30,000 nested objects inside a DTO", action: "CoworkerCreate",
                body: Array(("[{\"Id\":9,\"X\":" + String(repeating: "{\"a\":", count: 30_000) + "1"
                    + String(repeating: "}", count: 30_000) + "}]").utf8),
                quarantined: "nested deeper than 512 levels"),
        Garbage(name: "nesting at the limit", action: "CoworkerCreate",
                body: Array("[{\"Id\":10,\"X\":\(deep("[", "]", JSONParser.maxDepth - 2))}]".utf8), quarantined: .some(nil)),
        Garbage(name: "an Id of 1e999999", action: "CoworkerCreate",
                body: Array(#"[{"Id":1e999999}]"#.utf8), quarantined: "field Id: expected an integer"),
        Garbage(name: "an amount of 1e999999", action: "CoworkerInvoicePaid",
                body: Array(#"[{"Id":11,"TotalAmount":1e999999,"UpdatedOn":"2026-01-01T00:00:00Z"}]"#.utf8),
                quarantined: "field TotalAmount: expected a number"),
        Garbage(name: "lone surrogate escapes", action: "CoworkerCreate",
                body: Array(#"[{"Id":12,"FullName":"\uD800","Email":"x\uDC00\uD83D"}]"#.utf8), quarantined: .some(nil)),
        Garbage(name: "invalid UTF-8 in a string", action: "CoworkerCreate",
                body: [0x5B, 0x7B, 0x22, 0x49, 0x64, 0x22, 0x3A, 0x31, 0x33, 0x2C, 0x22, 0x4E, 0x22, 0x3A, 0x22, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0x22, 0x7D, 0x5D],
                quarantined: "not valid UTF-8"),
        Garbage(name: "invalid UTF-8 outside strings", action: "CoworkerCreate",
                body: [0xFF, 0xFE, 0x5B, 0x5D], quarantined: "body is not JSON"),
        Garbage(name: "an instant past year 9999", action: "CoworkerCreate",
                body: Array(#"[{"Id":14,"UpdatedOn":"9999-12-31T23:30:00-05:00"}]"#.utf8),
                quarantined: "field UpdatedOn: expected an ISO-8601 date"),
        Garbage(name: "an empty body", action: "CoworkerCreate", body: [], quarantined: "body is not JSON"),
    ]

    /// Each fixture cut in half and cut before its last `]`, and with one bit flipped at eight
    /// places spread over it.
    static let mutatedFixtures: [Garbage] = NexudusFixtures.names.flatMap { name -> [Garbage] in
        let body = NexudusFixtures.body(name)
        let action = NexudusFixtures.action(of: name)
        let lastBracket = body.lastIndex(of: UInt8(ascii: "]"))!
        var garbage = [
            Garbage(name: "\(name) cut in half", action: action, body: Array(body.prefix(body.count / 2)),
                    quarantined: "body is not JSON"),
            Garbage(name: "\(name) cut before its last ]", action: action, body: Array(body[..<lastBracket]),
                    quarantined: "body is not JSON"),
        ]
        for k in 0..<8 {
            var flipped = body
            let offset = k * body.count / 8 + k
            flipped[offset] ^= 1 << UInt8(k)
            garbage.append(Garbage(name: "\(name) bit \(k) flipped at \(offset)", action: action, body: flipped, quarantined: nil))
        }
        return garbage
    }

    @Test func signedGarbageIsAnswered200KeptAndQuarantinedWithoutACrash() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        let all = Self.hostile + Self.mutatedFixtures
        var acknowledged: [(garbage: Garbage, seq: Int)] = []
        for garbage in all {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/\(garbage.action)", body: garbage.body,
                headers: [("X-Nexudus-Hook-Signature", NexudusSignature.sign(body: garbage.body, secret: NexudusFixtures.secret))])
            #expect(answer.status == 200, "\(garbage.name): \(answer.status) \(answer.body)")
            #expect(answer.json["duplicate"] as? Bool == false, "\(garbage.name)")
            acknowledged.append((garbage, answer.json["seq"] as? Int ?? -1))
        }
        #expect(server.process.isRunning)
        #expect(try await HTTP.get("\(server.baseURL)/healthz").status == 200)

        // The background fold has gone over all of it (and quarantined the amount) and lives.
        let queue = try DatabaseQueue(path: database)
        let last = acknowledged.map(\.seq).max() ?? 0
        let deadline = Date().addingTimeInterval(30)
        var checkpoint = 0
        while Date() < deadline {
            checkpoint = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT min(checkpoint) FROM projections") ?? 0 }
            if checkpoint >= last { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(checkpoint >= last)
        #expect(server.process.isRunning, "\(server.standardError.suffix(2_000))")
        #expect(await server.stop() == 0)

        let events = try await queue.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT seq, action, body, status, error FROM events").map {
                ($0["seq"] as Int, (action: $0["action"] as String, body: $0["body"] as Data,
                                    status: $0["status"] as String, error: $0["error"] as String?))
            })
        }
        #expect(events.count == all.count)
        for (garbage, seq) in acknowledged {
            guard let event = events[seq] else {
                Issue.record("\(garbage.name): seq \(seq) is not in the log")
                continue
            }
            #expect(event.body == Data(garbage.body), "\(garbage.name)")
            #expect(event.action == garbage.action, "\(garbage.name)")
            switch garbage.quarantined {
            case .some(.some(let reason)):
                #expect(event.status == "quarantined" && event.error?.contains(reason) == true,
                        "\(garbage.name): \(event.status) \(event.error ?? "")")
            case .some(.none):
                #expect(event.status == "ok", "\(garbage.name): \(event.error ?? "")")
            case .none:
                #expect(event.status == "ok" || event.error?.isEmpty == false, "\(garbage.name)")
            }
        }
        let surrogates = try await queue.read { db in try String.fetchOne(db, sql: "SELECT full_name FROM coworkers WHERE id = 12") }
        #expect(surrogates == "\u{FFFD}")

        // A fresh process folds the same log from scratch, and the operator can list it all.
        let rebuild = try await CLI.run(["rebuild", "--db", database])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        let listed = try await CLI.run(["events", "--quarantined", "--limit", "1000", "--db", database])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.output.contains("nested deeper than 512 levels"))
    }
}
