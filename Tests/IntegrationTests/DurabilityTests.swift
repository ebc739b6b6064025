import Foundation
import GRDB
import NexMirrorCore
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// A 200 means the delivery is on disk: checked by killing the real process.
@Suite(.serialized) struct DurabilityTests {
    /// Distinct, correctly signed bodies shaped like the BookingCreate fixture.
    static func bookings(_ count: Int) -> [[UInt8]] {
        let template = String(decoding: NexudusFixtures.body("BookingCreate"), as: UTF8.self)
        return (0..<count).map { index in
            Array(template.replacingOccurrences(of: "\"Id\":1419005644", with: "\"Id\":\(1_500_000_000 + index)").utf8)
        }
    }

    @Test func acknowledgedDeliveriesSurviveSIGKILL() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        let bodies = Self.bookings(300)
        let url = "\(server.baseURL)/webhooks/BookingCreate"
        let acknowledged = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for (index, body) in bodies.enumerated() {
                group.addTask {
                    let signature = NexudusSignature.sign(body: body, secret: NexudusFixtures.secret)
                    let answer = try await HTTP.post(url, body: body, headers: [("X-Nexudus-Hook-Signature", signature)])
                    return answer.status == 200 ? (index, answer.json["seq"] as? Int ?? -1) : (index, -1)
                }
            }
            var acknowledged: [Int: Int] = [:]
            for try await (index, seq) in group where seq > 0 { acknowledged[index] = seq }
            return acknowledged
        }
        #expect(acknowledged.count == bodies.count)
        #expect(Set(acknowledged.values).count == bodies.count)
        #expect(await server.stop(signal: SIGKILL) == 128 + SIGKILL)

        let queue = try DatabaseQueue(path: database)
        let stored = try await queue.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT seq, body FROM events").map {
                ($0["seq"] as Int, $0["body"] as Data)
            })
        }
        for (index, seq) in acknowledged {
            #expect(stored[seq] == Data(bodies[index]), "seq \(seq)")
        }
    }

    @Test func sigtermStopsGracefullyWithoutLosingAcknowledgedDeliveries() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        for name in ["CoworkerCreate", "BookingCreate", "TeamCreated"] {
            #expect(try await HTTP.deliver(name, to: server).status == 200)
        }
        #expect(await server.stop(signal: SIGTERM) == 0)
        let queue = try DatabaseQueue(path: database)
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 3)

        // Restarted on the same file, it carries on and folds what it had not.
        let again = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        #expect(try await HTTP.deliver("CoworkerCreate", to: again).json["duplicate"] as? Bool == true)
        #expect(await again.stop(signal: SIGINT) == 0)
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM coworkers") } == 1)
    }

    @Test func cliRebuildWhileServerIngestsLosesNothing() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        let bodies = Self.bookings(400)
        let url = "\(server.baseURL)/webhooks/BookingCreate"
        let ingest = Task {
            for body in bodies {
                let signature = NexudusSignature.sign(body: body, secret: NexudusFixtures.secret)
                let answer = try await HTTP.post(url, body: body, headers: [("X-Nexudus-Hook-Signature", signature)])
                #expect(answer.status == 200)
            }
        }
        var rebuilds = 0
        while rebuilds < 3 {
            let result = try await CLI.run(["rebuild", "--db", database])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.output.contains("events in"))
            rebuilds += 1
        }
        try await ingest.value
        let queue = try DatabaseQueue(path: database)
        let deadline = Date().addingTimeInterval(60)
        var folded = 0
        while Date() < deadline {
            folded = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM bookings") ?? 0 }
            if folded == bodies.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(folded == bodies.count)
        await server.stop()
    }
}
