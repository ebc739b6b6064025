import Foundation
import GRDB
import NexMirrorTestSupport
import Testing

/// `nexmirror check` finds what was changed behind nexmirror's back; `nexmirror backup` takes a
/// working copy while `serve` receives.
@Suite struct BackupCheckTests {
    /// Changes the database behind nexmirror's back, as damage or an intruder would.
    private func tamper(_ mirror: Mirror, _ sql: String) throws {
        let queue = try DatabaseQueue(path: mirror.path)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    private func findings(_ result: CommandResult) -> [String] {
        result.output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("checked ") && !$0.hasPrefix("lag ") }
    }

    @Test func aHealthyMirrorHasNoFindings() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run(["check"])
        #expect(result.status == 0, "\(result.output)\(result.stderr)")
        #expect(findings(result).isEmpty)
        #expect(result.output.range(
            of: #"checked 32 events and \d+ replica rows in \d+ tables in [\d.]+ s: no findings"#,
            options: .regularExpression) != nil, "\(result.output)")
    }

    @Test func aChangedBodyIsFound() async throws {
        let mirror = try await Mirror.fromFixtures()
        try tamper(mirror, "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'Z\"', 'Z \"') AS BLOB) WHERE seq = 3")
        let result = try await mirror.run(["check"])
        #expect(result.status == 1)
        #expect(findings(result).contains { $0.hasPrefix("events: seq 3: body does not match its body_sha256") },
                "\(result.output)")
    }

    @Test func aChangedReplicaRowIsFoundAsDifferentMissingOrExtra() async throws {
        let mirror = try await Mirror.fromFixtures()
        let coworker = try #require(Int(try await mirror.csv("SELECT min(id) FROM coworkers")[1][0]))
        let booking = try #require(Int(try await mirror.csv("SELECT min(id) FROM bookings")[1][0]))
        try tamper(mirror, "UPDATE coworkers SET email = 'someone@else.example' WHERE id = \(coworker)")
        try tamper(mirror, "DELETE FROM bookings WHERE id = \(booking)")
        try tamper(mirror, "INSERT INTO tombstones (entity_type, id, updated_on, seq) VALUES ('Coworker', 42, NULL, 1)")
        let result = try await mirror.run(["check"])
        #expect(result.status == 1)
        #expect(findings(result) == [
            "coworkers: 1 row different from a fresh fold of the log (id=\(coworker))",
            "bookings: 1 row missing from the replica but in a fresh fold of the log (id=\(booking))",
            "tombstones: 1 row in the replica but not in a fresh fold of the log (entity_type=Coworker id=42)",
        ], "\(result.output)")
    }

    @Test func aRenumberedSeqIsFound() async throws {
        let mirror = try await Mirror.fromFixtures()
        try tamper(mirror, "UPDATE events SET seq = 100 WHERE seq = 5")
        try tamper(mirror, "UPDATE events SET seq = 0 WHERE seq = 1")
        let result = try await mirror.run(["check"])
        #expect(result.status == 1)
        let lines = findings(result)
        #expect(lines.contains("events: seq 0 is below 1, where the log starts: it was renumbered"), "\(result.output)")
        #expect(lines.contains("events: seq 1 is missing: the log skips from 0 to 2"))
        #expect(lines.contains("events: seq 5 is missing: the log skips from 4 to 6"))
        #expect(lines.contains("events: seq 100 is above the highest seq ever assigned (32): it was renumbered"))
    }

    @Test func aCheckpointPastTheLogIsFound() async throws {
        let mirror = try await Mirror.fromFixtures()
        try tamper(mirror, "UPDATE projections SET checkpoint = 40 WHERE name = 'teams'")
        let result = try await mirror.run(["check"])
        #expect(result.status == 1)
        #expect(findings(result) == ["projections: teams's checkpoint 40 is above the last seq of the log (32)"], "\(result.output)")
    }

    @Test func deliveriesNotFoldedYetAreLagNotFindings() async throws {
        let mirror = try await Mirror.fromFixtures(skippingDeletes: true)
        let complete = try await Mirror.fromFixtures()
        // The deletes, logged as a receiver does before its projector has folded them.
        let queue = try DatabaseQueue(path: mirror.path)
        let completePath = complete.path
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS complete", arguments: [completePath])
            try db.execute(sql: """
                INSERT INTO events (received_at, action, action_id, entity_type, entity_id, updated_on, body,
                                    body_sha256, source, signature, status, error)
                SELECT received_at, action, action_id, entity_type, entity_id, updated_on, body,
                       body_sha256, source, signature, status, error
                FROM complete.events WHERE action LIKE '%Delete%' ORDER BY seq
                """)
            try db.execute(sql: "DETACH DATABASE complete")
        }
        try queue.close()
        let result = try await mirror.run(["check"])
        #expect(result.status == 0, "\(result.output)")
        #expect(findings(result).isEmpty, "\(result.output)")
        #expect(result.output.range(
            of: #"lag \(not a finding\): coworkers \d+, bookings \d+.* deliveries not folded yet"#,
            options: .regularExpression) != nil, "\(result.output)")
    }

    @Test func backupWhileTheServerReceivesIsAWorkingConsistentCopy() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--insecure-no-signature"])
        let url = "\(server.baseURL)/webhooks/CoworkerCreate"
        let sender = Task {
            var acknowledged = 0
            for index in 0..<100_000 where !Task.isCancelled {
                let body = #"[{"Id":\#(1_600_000 + index),"UpdatedOn":"2026-01-02T03:04:05Z","FullName":"Member \#(index)"}]"#
                do {
                    if try await HTTP.post(url, body: Array(body.utf8)).status == 200 { acknowledged += 1 }
                } catch where Task.isCancelled {
                    break
                }
            }
            return acknowledged
        }
        // Let deliveries flow, then back up twice while they keep coming.
        while try await HTTP.get("\(server.baseURL)/metrics").body.contains("nexmirror_event_log_deliveries 0") {
            try await Task.sleep(for: .milliseconds(20))
        }
        let copy = scratch.path("backup.sqlite")
        let first = try await CLI.run(["backup", "--db", database, copy])
        let second = try await CLI.run(["backup", "--db", database, copy])  // replaces the first
        sender.cancel()
        let acknowledged = try await sender.value
        await server.stop()

        for result in [first, second] {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.output.hasPrefix("backed up \(database) to \(copy): "), "\(result.output)")
        }
        func events(in path: String) async throws -> Int? {
            Int(String(decoding: try await CLI.run(
                ["query", "--db", path, "--format", "csv", "SELECT count(*) FROM events"]).stdout, as: UTF8.self)
                .split(separator: "\r\n")[1])
        }
        // A prefix of the log, taken while deliveries kept arriving.
        let copied = try #require(try await events(in: copy))
        let logged = try #require(try await events(in: database))
        #expect(copied > 0 && copied <= logged, "copy \(copied), log \(logged), acknowledged \(acknowledged)")
        // The copy opens as a nexmirror database and is consistent: log and replica agree.
        let check = try await CLI.run(["check", "--db", copy])
        #expect(check.status == 0, "\(check.output)")
        let attributes = try FileManager.default.attributesOfItem(atPath: copy)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func checkWhileTheServerReceivesAndFoldsFindsNothing() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--insecure-no-signature"])
        let url = "\(server.baseURL)/webhooks/CoworkerUpdate"
        let sender = Task {
            // Updates of a few coworkers, so the projector keeps rewriting the same rows.
            for index in 0..<100_000 where !Task.isCancelled {
                let time = String(format: "%02d:%02d:%02d", index / 3600 % 24, index / 60 % 60, index % 60)
                let body = #"[{"Id":\#(1_700_000 + index % 7),"UpdatedOn":"2026-01-02T\#(time)Z","FullName":"Version \#(index)"}]"#
                do { _ = try await HTTP.post(url, body: Array(body.utf8)) } catch where Task.isCancelled { break }
            }
        }
        while try await HTTP.get("\(server.baseURL)/metrics").body.contains("nexmirror_event_log_deliveries 0") {
            try await Task.sleep(for: .milliseconds(20))
        }
        var results: [CommandResult] = []
        for _ in 0..<3 { results.append(try await CLI.run(["check", "--db", database])) }
        sender.cancel()
        _ = try? await sender.value
        await server.stop()
        for result in results {
            #expect(result.status == 0, "\(result.output)\(result.stderr)")
            #expect(findings(result).isEmpty, "\(result.output)")
        }
    }

    @Test func backupOfAMissingDatabaseIsOneClearLine() async throws {
        let scratch = Scratch()
        let result = try await CLI.run(["backup", "--db", scratch.path("none.sqlite"), scratch.path("copy.sqlite")])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("no database at"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("copy.sqlite")))
    }
}
