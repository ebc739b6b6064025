import Foundation
import GRDB
import NexMirrorTestSupport
import Testing

/// `nexmirror compact` (SPEC §10 "Retention"): superseded and quarantined deliveries before T
/// leave the log and the files; the replica, `rebuild` and `check` do not notice.
@Suite struct CompactTests {
    /// One coworker's version as an import line; `email` is the only field that differs.
    private func coworker(_ id: Int, updatedOn: String, email: String) -> String {
        let body = #"[{"Id":\#(id),"UniqueId":"c\#(id)","FullName":"Retention Case","Email":"\#(email)","Active":true,"#
            + #""Archived":false,"CreatedOn":"2026-01-01T00:00:00Z","UpdatedOn":"\#(updatedOn)"}]"#
        let line = ["action": "CoworkerUpdate", "body": body]
        return String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A mirror of the fixtures plus superseded versions of one coworker (in and out of order)
    /// and a quarantined delivery.
    private func mirrorWithHistory() async throws -> Mirror {
        let mirror = try await Mirror.fromFixtures()
        try await mirror.importLines([
            coworker(7_700_001, updatedOn: "2026-02-01T00:00:00Z", email: "first.version@old.example"),
            coworker(7_700_001, updatedOn: "2026-02-03T00:00:00Z", email: "latest.version@new.example"),
            // Arrives after the latest: it never reaches the replica, only the log.
            coworker(7_700_001, updatedOn: "2026-02-02T00:00:00Z", email: "late.arrival@stale.example"),
            #"{"action":"BookingUpdate","body":"[{\"Id\":\"not a number\",\"UpdatedOn\":\"2026-02-01T00:00:00Z\"}]"}"#,
        ])
        return mirror
    }

    /// Every replica table, rows sorted, as CSV text.
    private func replica(_ mirror: Mirror) async throws -> [String: String] {
        var tables: [String: String] = [:]
        for table in ["coworkers", "bookings", "invoices", "invoice_events", "teams", "team_members", "checkins",
                      "proposals", "contracts", "entities", "tombstones", "members"] {
            let result = try await mirror.run(["query", "--format", "csv", "SELECT * FROM \(table) ORDER BY 1, 2"])
            #expect(result.status == 0, "\(result.stderr)")
            tables[table] = result.output
        }
        return tables
    }

    /// The bytes of the database file and its WAL.
    private func files(_ mirror: Mirror) throws -> Data {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: mirror.path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: mirror.path + "-wal")) { bytes.append(wal) }
        return bytes
    }

    private func holds(_ mirror: Mirror, _ value: String) throws -> Bool {
        try files(mirror).range(of: Data(value.utf8)) != nil
    }

    @Test func compactThenRebuildGivesTheSameReplicaAndCheckHolds() async throws {
        let mirror = try await mirrorWithHistory()
        let before = try await replica(mirror)
        let eventsBefore = try #require(try await mirror.counts()["events"])

        let compacted = try await mirror.run(["compact", "--before", "2100-01-01"])
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.output.hasPrefix("removed "), "\(compacted.output)")
        #expect(compacted.output.contains("  Coworker: "), "\(compacted.output)")
        #expect(compacted.output.contains(" 1 quarantined"), "\(compacted.output)")
        let removed = try #require(Int(compacted.output.split(separator: " ")[1]))
        #expect(removed >= 3)
        #expect(try await mirror.counts()["events"] == eventsBefore - removed)
        // Every invoice delivery stays: each is a row of invoice_events.
        #expect(try await mirror.csv("SELECT count(*) FROM events WHERE entity_type = 'CoworkerInvoice'")[1][0]
            == (try await mirror.csv("SELECT count(*) FROM invoice_events")[1][0]))

        #expect(try await replica(mirror) == before)
        let check = try await mirror.run(["check"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("compacted (not a finding): \(removed) deliveries removed by `compact`"), "\(check.output)")
        let rebuild = try await mirror.run(["rebuild"])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(try await replica(mirror) == before)
        #expect(try await mirror.run(["check"]).status == 0)

        // Nothing left to remove: a second run removes nothing and records nothing.
        let again = try await mirror.run(["compact", "--before", "2100-01-01"])
        #expect(again.output.hasPrefix("removed 0 deliveries"), "\(again.output)")
        #expect(try await mirror.csv("SELECT count(*), sum(removed) FROM compactions")[1] == ["1", "\(removed)"])
    }

    @Test func aHoleNotRecordedAsCompactedIsStillAFinding() async throws {
        let mirror = try await mirrorWithHistory()
        #expect(try await mirror.run(["compact", "--before", "2100-01-01"]).status == 0)
        // A delivery compaction kept, removed behind nexmirror's back.
        let kept = try #require(try await mirror.csv("SELECT seq FROM events ORDER BY seq LIMIT 1 OFFSET 5")[1].first)
        try await mirror.deleteBehindTheBack("DELETE FROM events WHERE seq = \(kept)")
        let check = try await mirror.run(["check"])
        #expect(check.status == 1, "\(check.output)")
        #expect(check.output.split(separator: "\n").contains { $0.hasPrefix("events: seq ") && $0.contains("missing") },
                "\(check.output)")
    }

    @Test func onlyDeliveriesReceivedBeforeTheTimeAreRemoved() async throws {
        let mirror = try await mirrorWithHistory()
        let result = try await mirror.run(["compact", "--before", "2000-01-01"])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("removed 0 deliveries received before 2000-01-01T00:00:00.0000000Z"), "\(result.output)")
    }

    @Test func aDryRunSaysWhatWouldGoAndChangesNothing() async throws {
        let mirror = try await mirrorWithHistory()
        let before = try await replica(mirror)
        let counts = try await mirror.counts()
        let dry = try await mirror.run(["compact", "--before", "2100-01-01", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.hasPrefix("would remove "), "\(dry.output)")
        #expect(dry.output.contains("  Coworker: "), "\(dry.output)")
        #expect(try await mirror.counts() == counts)
        #expect(try await replica(mirror) == before)
        #expect(try await mirror.csv("SELECT count(*) FROM compactions")[1] == ["0"])
        #expect(try holds(mirror, "late.arrival@stale.example"))
        let real = try await mirror.run(["compact", "--before", "2100-01-01"])
        #expect(real.output.split(separator: "\n").dropFirst().prefix(while: { $0.hasPrefix("  ") })
            == dry.output.split(separator: "\n").dropFirst().prefix(while: { $0.hasPrefix("  ") }))
    }

    @Test func aSupersededValueLeavesNoByteInTheFileOrItsWAL() async throws {
        let mirror = try await mirrorWithHistory()
        // Only ever in the log: the version that arrived after a newer one.
        #expect(try holds(mirror, "late.arrival@stale.example"))
        let result = try await mirror.run(["compact", "--before", "2100-01-01"])
        #expect(result.status == 0)
        #expect(!(try holds(mirror, "late.arrival@stale.example")))
        #expect(try holds(mirror, "latest.version@new.example"))
        #expect(try mirror.walBytes() == 0)
    }

    @Test func vacuumAlsoDropsCopiesTheReplicaOnceHeld() async throws {
        let mirror = try await mirrorWithHistory()
        // Folded in order, the first version was the replica's row until the next replaced it.
        let result = try await mirror.run(["compact", "--before", "2100-01-01", "--vacuum"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!(try holds(mirror, "first.version@old.example")))
        #expect(!(try holds(mirror, "late.arrival@stale.example")))
        #expect(try await mirror.run(["check"]).status == 0)
    }

    @Test func historyAndAsOfSayDetailBeforeACompactionIsGone() async throws {
        let mirror = try await mirrorWithHistory()
        #expect(try await mirror.run(["compact", "--before", "2100-01-01"]).status == 0)
        let history = try await mirror.run(["history", "coworkers", "7700001"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stderr.contains("compacted away"), "\(history.stderr)")
        let asOf = try await mirror.run(["query", "--as-of", "2026-02-02", "SELECT count(*) FROM coworkers"])
        #expect(asOf.status == 0, "\(asOf.stderr)")
        #expect(asOf.stderr.contains("compacted away"), "\(asOf.stderr)")
    }

    /// `serve --compact-after 1s` compacts every second while deliveries keep arriving: every
    /// acknowledged latest version is in the replica, superseded ones are gone, `check` holds.
    @Test func serveCompactsWhileItReceivesAndLosesNothing() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(
            arguments: ["--db", database, "--insecure-no-signature", "--compact-after", "1s"])
        var latest: [Int: Int] = [:]  // entity → the last acknowledged version
        for index in 0..<400 {
            let id = 8_800_000 + index % 40
            let updated = String(format: "2026-03-01T00:%02d:%02dZ", index / 60, index % 60)
            let body = #"[{"Id":\#(id),"FullName":"Serve Case","Email":"v\#(index)@serve.example","UpdatedOn":"\#(updated)"}]"#
            if try await HTTP.post("\(server.baseURL)/webhooks/CoworkerUpdate", body: Array(body.utf8)).status == 200 {
                latest[id] = index
            }
            try await Task.sleep(for: .milliseconds(8))
        }
        try await Task.sleep(for: .milliseconds(2500))  // one more compaction after the last delivery
        await server.stop()

        let mirror = Mirror(scratch: scratch, path: database, imported: CommandResult(status: 0, stdout: Data(), stderr: ""))
        let rows = try await mirror.csv("SELECT id, email FROM coworkers WHERE id >= 8800000 ORDER BY id")
        #expect(rows.count == 41)
        for row in rows.dropFirst() {
            #expect(row[1] == "v\(latest[Int(row[0])!]!)@serve.example", "\(row)")
        }
        let removed = try #require(Int(try await mirror.csv("SELECT coalesce(sum(removed), 0) FROM compactions")[1][0]))
        #expect(removed > 200, "removed \(removed)")
        #expect(try await mirror.counts()["events"] == 400 - removed)
        let check = try await mirror.run(["check"])
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func grantReaderOnSQLiteSaysWhyNotInOneLine() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run(["grant-reader", "analyst"])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("export"))
    }
}

extension Mirror {
    func deleteBehindTheBack(_ sql: String) async throws {
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    func walBytes() throws -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
    }
}
