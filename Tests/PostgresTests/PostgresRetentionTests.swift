import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `compact` and `grant-reader` on `--db postgresql://…` (SPEC §10 "Retention", §6 "Access").
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresRetentionTests {
    /// A database holding the fixtures, then superseded versions of one coworker (one arriving
    /// after a newer one) and a quarantined delivery.
    private func mirror() async throws -> String {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        func coworker(updatedOn: String, email: String) -> String {
            let body = #"[{"Id":7700001,"UniqueId":"c7700001","FullName":"Retention Case","Email":"\#(email)","Active":true,"#
                + #""Archived":false,"CreatedOn":"2026-01-01T00:00:00Z","UpdatedOn":"\#(updatedOn)"}]"#
            let line = ["action": "CoworkerUpdate", "body": body]
            return String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
        }
        let lines = NexudusFixtures.importLines() + [
            coworker(updatedOn: "2026-02-01T00:00:00Z", email: "first.version@old.example"),
            coworker(updatedOn: "2026-02-03T00:00:00Z", email: "latest.version@new.example"),
            coworker(updatedOn: "2026-02-02T00:00:00Z", email: "late.arrival@stale.example"),
            #"{"action":"BookingUpdate","body":"[{\"Id\":\"not a number\",\"UpdatedOn\":\"2026-02-01T00:00:00Z\"}]"}"#,
        ]
        let file = scratch.path("log.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let imported = try await CLI.run(["import", "--db", url, file])
        try #require(imported.status == 0, "\(imported.stderr)")
        return url
    }

    private func replica(_ url: String) throws -> [String: String] {
        var tables: [String: String] = [:]
        for table in ["coworkers", "bookings", "invoices", "invoice_events", "teams", "team_members", "checkins",
                      "proposals", "contracts", "entities", "tombstones"] {
            tables[table] = try PostgresCluster.psql(url, "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \(table) t")
        }
        return tables
    }

    @Test func compactThenRebuildGivesTheSameReplicaAndCheckHolds() async throws {
        let url = try await mirror()
        let before = try replica(url)
        let events = try PostgresCluster.psql(url, "SELECT count(*) FROM events")

        let dry = try await CLI.run(["compact", "--db", url, "--before", "2100-01-01", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.hasPrefix("would remove "), "\(dry.output)")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == events)

        let compacted = try await CLI.run(["compact", "--db", url, "--before", "2100-01-01"])
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.output.contains(" 1 quarantined"), "\(compacted.output)")
        let removed = try #require(Int(compacted.output.split(separator: " ")[1]))
        #expect(removed >= 3)
        #expect(Int(try PostgresCluster.psql(url, "SELECT count(*) FROM events")) == Int(events)! - removed)
        #expect(try PostgresCluster.psql(
            url, "SELECT count(*) FROM events WHERE position('late.arrival@stale.example' IN convert_from(body, 'UTF8')) > 0") == "0")
        #expect(try replica(url) == before)

        let check = try await CLI.run(["check", "--db", url])
        #expect(check.status == 0, "\(check.output)\(check.stderr)")
        #expect(check.output.contains("compacted (not a finding): \(removed) deliveries"), "\(check.output)")
        let rebuild = try await CLI.run(["rebuild", "--db", url])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(try replica(url) == before)
        #expect(try await CLI.run(["check", "--db", url]).status == 0)
    }

    @Test func aGrantedReaderReadsTheReplicaAndIsRefusedTheLog() async throws {
        let url = try await mirror()
        let role = "reader_" + UUID().uuidString.prefix(8).lowercased()
        _ = try PostgresCluster.psql(url, "CREATE ROLE \(role) LOGIN")
        var components = URLComponents(string: url)!
        components.user = role
        let asReader = components.string!

        #expect((try? PostgresCluster.psql(asReader, "SELECT count(*) FROM members")) == nil)  // nothing before
        for _ in 0..<2 {  // idempotent
            let granted = try await CLI.run(["grant-reader", "--db", url, role])
            #expect(granted.status == 0, "\(granted.stderr)")
        }
        func readable() -> [String: Bool] {
            Dictionary(uniqueKeysWithValues: [
                "members", "bookings", "coworkers", "invoice_events", "tombstones", "events", "rejections", "sync_state",
                "nexudus_webhooks", "compactions", "compacted_seqs", "reader_roles", "projections", "log_head",
                "schema_migrations", "erased_subjects", "erasures",
            ].map { ($0, (try? PostgresCluster.psql(asReader, "SELECT count(*) FROM \($0)")) != nil) })
        }
        let expected: [String: Bool] = [
            "members": true, "bookings": true, "coworkers": true, "invoice_events": true, "tombstones": true,
            "events": false, "rejections": false, "sync_state": false, "nexudus_webhooks": false, "compactions": false,
            "compacted_seqs": false, "reader_roles": false, "projections": false, "log_head": false,
            "schema_migrations": false, "erased_subjects": false, "erasures": false,
        ]
        #expect(readable() == expected)
        #expect(try PostgresCluster.psql(asReader, "SELECT count(*) FROM members") != "0")

        // A rebuild replaces the replica tables and the view: the role keeps its reads.
        let rebuild = try await CLI.run(["rebuild", "--db", url])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(readable() == expected)

        let missing = try await CLI.run(["grant-reader", "--db", url, "no_such_role_here"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("does not exist"), "\(missing.stderr)")
    }
}
