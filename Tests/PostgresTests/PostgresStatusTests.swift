import Foundation
import NexudusFixtures
import Testing

/// `status` on `--db postgresql://…`, and the dashboard and `/api/status` of a PostgreSQL
/// `serve`, and `history`: the same report as on SQLite for the same log. Fields that legitimately differ:
/// `database` (a path or the PostgreSQL location), `generated_at`, `log.file_bytes` (the file vs
/// `pg_database_size`), `log.wal_bytes` (0 on PostgreSQL, whose WAL is the cluster's), and every
/// time a receiver stamped (`received_at`, `last_received_at`, `updated_at`, `rebuilt_at`).
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresStatusTests {
    static func json(_ arguments: [String]) async throws -> [String: Any] {
        let result = try await CLI.run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
    }

    /// What must agree between backends: everything but the fields named above.
    static func comparable(_ report: [String: Any]) -> NSDictionary {
        let log = report["log"] as? [String: Any] ?? [:]
        let rejections = report["rejections"] as? [String: Any] ?? [:]
        let hourly = report["hourly"] as? [[String: Any]] ?? []
        return [
            "log": ["deliveries": log["deliveries"] ?? 0, "last_seq": log["last_seq"] ?? 0, "quarantined": log["quarantined"] ?? 0],
            "tables": report["tables"] ?? [:],
            "actions": (report["actions"] as? [[String: Any]] ?? []).map { $0.filter { $0.key != "last_received_at" } },
            "projections": (report["projections"] as? [[String: Any]] ?? []).map {
                $0.filter { ["name", "version", "checkpoint", "lag"].contains($0.key) }
            },
            "rejections": rejections.filter { ["total", "kept", "last24h", "since_last_verified"].contains($0.key) },
            "hourly_total": hourly.reduce(0) { $0 + ($1["deliveries"] as? Int ?? 0) },
            "hourly_count": hourly.count,
            "silent": report["silent"] ?? [],
            "sync": report["sync"] ?? [],
            "problems": (report["problems"] as? [String] ?? []).map { $0.prefix(while: { $0 != ";" }) },
            "hint": report["hint"] == nil ? "none" : "some",
        ] as NSDictionary
    }

    @Test func statusAndHistoryReportTheSameAsOnSQLite() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (postgres, _) = try await PostgresReceiverTests.serve(url)
        let scratch = Scratch()
        let sqlitePath = scratch.path("mirror.sqlite")
        let sqlite = try await RunningServer(arguments: ["--db", sqlitePath, "--secret-file", scratch.secretFile()])
        for name in NexudusFixtures.names {
            #expect(try await HTTP.deliver(name, to: postgres).status == 200)
            #expect(try await HTTP.deliver(name, to: sqlite).status == 200)
        }
        // One wrong signature each: a rejection, its problem line and the wrong-secret hint.
        for server in [postgres, sqlite] {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"),
                headers: [("X-Nexudus-Hook-Signature", String(repeating: "A", count: 64))])
            #expect(answer.status == 401)
        }
        try await waitUntilFolded(url)
        try await poll { try PostgresCluster.psql(url, "SELECT count(*) FROM rejections") == "1" }

        // The PostgreSQL receiver's own dashboard and /api/status read the same report.
        let api = try await HTTP.get("\(postgres.baseURL)/api/status")
        #expect(api.status == 200, "\(api.body)")
        #expect((api.json["log"] as? [String: Any])?["deliveries"] as? Int == NexudusFixtures.names.count)
        let page = try await HTTP.get("\(postgres.baseURL)/")
        #expect(page.status == 200, "\(page.body)")
        #expect(page.body.contains("CoworkerCreate"))
        let metrics = try await HTTP.get("\(postgres.baseURL)/metrics")
        #expect(metrics.body.contains("nexmirror_action_last_delivery_timestamp_seconds{action=\"CoworkerCreate\"}"), "\(metrics.body)")
        await sqlite.stop()
        await postgres.stop()

        let fromPostgres = try await Self.json(["status", "--db", url])
        let fromSQLite = try await Self.json(["status", "--db", sqlitePath])
        #expect(Self.comparable(fromPostgres) == Self.comparable(fromSQLite), "\(Self.comparable(fromPostgres))\n---\n\(Self.comparable(fromSQLite))")
        #expect((fromPostgres["log"] as? [String: Any])?["deliveries"] as? Int == NexudusFixtures.names.count)
        #expect((fromPostgres["rejections"] as? [String: Any])?["total"] as? Int == 1)
        #expect((fromPostgres["log"] as? [String: Any])?["file_bytes"] as? Int ?? 0 > 0)
        #expect((fromPostgres["database"] as? String)?.hasPrefix("PostgreSQL database") == true)
        #expect(fromPostgres["hint"] as? String != nil)
        #expect(Set(((fromPostgres["tables"] as? [String: Any]) ?? [:]).keys).isSuperset(of: ["coworkers", "members", "tombstones"]))

        // --check: the same problems (the rejection) and exit status 3 on both.
        let checkPostgres = try await CLI.run(["status", "--check", "--db", url])
        let checkSQLite = try await CLI.run(["status", "--check", "--db", sqlitePath])
        #expect(checkPostgres.status == 3, "\(checkPostgres.stderr)")
        #expect(checkSQLite.status == 3)
        #expect(checkPostgres.output.split(separator: "\n").map { $0.prefix(while: { $0 != ";" }) }
            == checkSQLite.output.split(separator: "\n").map { $0.prefix(while: { $0 != ";" }) })
        #expect(checkPostgres.output.hasPrefix("rejected: 1 signature rejection in the last 24 h"), "\(checkPostgres.output)")

        // history: every delivery of one coworker with the same outcomes and changes.
        for arguments in [["history", "coworkers", "1419000582"], ["history", "Booking", "1419005644"]] {
            let historyPostgres = try await CLI.run(arguments + ["--format", "csv", "--db", url])
            let historySQLite = try await CLI.run(arguments + ["--format", "csv", "--db", sqlitePath])
            #expect(historyPostgres.status == 0, "\(historyPostgres.stderr)")
            // received_at (the second column) is each receiver's own clock.
            let strip = { (text: String) in
                text.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 1 }.map(\.element) }
            }
            #expect(strip(historyPostgres.output) == strip(historySQLite.output), "\(historyPostgres.output)\n---\n\(historySQLite.output)")
        }
        let coworker = try await CLI.run(["history", "coworkers", "1419000582", "--format", "csv", "--db", url])
        #expect(coworker.output.split(separator: "\r\n").count > 2, "\(coworker.output)")

        // The text form: the same lines below the database line, but for receivers' times.
        let textPostgres = try await CLI.run(["status", "--db", url])
        let textSQLite = try await CLI.run(["status", "--db", sqlitePath])
        #expect(textPostgres.status == 0, "\(textPostgres.stderr)")
        #expect(textPostgres.output.contains("event log    \(NexudusFixtures.names.count) deliveries, last seq \(NexudusFixtures.names.count), 0 quarantined"))
        let tables = { (text: String) in text.split(separator: "\n", omittingEmptySubsequences: false).drop { !$0.hasPrefix("table") }.prefix { !$0.isEmpty } }
        #expect(Array(tables(textPostgres.output)) == Array(tables(textSQLite.output)))
        withExtendedLifetime(scratch) {}
    }

    @Test func aFreshDatabaseReportsNoProblems() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        let check = try await CLI.run(["status", "--check", "--db", url])
        #expect(check.status == 0, "\(check.stderr)\(check.output)")
        #expect(check.output.isEmpty)
        let text = try await CLI.run(["status", "--db", url])
        #expect(text.output.contains("no delivery received yet"), "\(text.output)")
    }
}
