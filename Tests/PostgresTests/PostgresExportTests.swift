import Foundation
import NexudusFixtures
import Testing

/// `export` on `--db postgresql://…`: every report byte-identical to SQLite's for the same log.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresExportTests {
    static let reports = ["members", "bookings", "invoices", "checkins", "teams", "proposals", "contracts", "occupancy", "revenue", "membership"]
    static let filters: [[String]] = [
        [],
        ["--from", "2026-03-15", "--to", "2026-04-10"],
        ["--from", "2026-03"],
        ["--business", "1376491116"],
        ["--business", "1420976475", "--to", "2026-04-30T12:00:00Z"],
    ]

    /// Every fixture (its deletes empty checkins and teams), and every fixture but the deletes.
    @Test(arguments: [false, true])
    func everyReportIsByteIdenticalToSQLites(withoutDeletes: Bool) async throws {
        let names = NexudusFixtures.names.filter { !withoutDeletes || !$0.contains("Delete") }
        // The scratch directory holds the SQLite file: kept until the test ends.
        let (postgres, sqlite, scratch) = try await PostgresReadingTests.bothBackends(names)
        defer { withExtendedLifetime(scratch) {} }
        for report in Self.reports {
            for filter in Self.filters {
                let arguments = ["export", report] + filter
                let fromPostgres = try await CLI.run(arguments + ["--db", postgres])
                let fromSQLite = try await CLI.run(arguments + ["--db", sqlite])
                #expect(fromPostgres.status == 0, "\(arguments): \(fromPostgres.stderr)")
                #expect(fromSQLite.status == 0, "\(arguments): \(fromSQLite.stderr)")
                #expect(fromPostgres.stdout == fromSQLite.stdout, "\(arguments)\n\(fromPostgres.output)\n---\n\(fromSQLite.output)")
                if filter.isEmpty, withoutDeletes {
                    // The fixtures hold rows for every report: a header alone would prove little.
                    #expect(fromSQLite.output.split(separator: "\r\n").count > 1, "\(report)")
                }
            }
        }
    }

    /// A database whose default collation is ICU's en-US (case-insensitive first, accents after
    /// their letter) still sorts and filters like SQLite: bytewise, NULLs first.
    @Test func aLinguisticCollationDoesNotChangeTheOrder() async throws {
        let url = try PostgresCluster.makeDatabase(
            options: "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        let scratch = Scratch()
        let template = try #require(
            try JSONSerialization.jsonObject(with: Data(NexudusFixtures.body("CoworkerCreate"))) as? [[String: Any]]
        )[0]
        let names: [Any] = ["alice", "Zoe", "Émile", NSNull(), "bob"]
        let lines = try names.enumerated().map { index, name in
            var coworker = template
            coworker["Id"] = 1_500_000_000 + index
            coworker["FullName"] = name
            let body = String(decoding: try JSONSerialization.data(withJSONObject: [coworker]), as: UTF8.self)
            return String(decoding: try JSONSerialization.data(withJSONObject: ["action": "CoworkerCreate", "body": body]), as: UTF8.self)
        }
        let file = scratch.path("coworkers.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let sqlite = scratch.path("mirror.sqlite")
        for db in [url, sqlite] {
            let imported = try await CLI.run(["import", file, "--db", db])
            #expect(imported.status == 0, "\(imported.stderr)")
        }
        let fromPostgres = try await CLI.run(["export", "members", "--db", url])
        let fromSQLite = try await CLI.run(["export", "members", "--db", sqlite])
        #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
        #expect(fromPostgres.stdout == fromSQLite.stdout, "\(fromPostgres.output)\n---\n\(fromSQLite.output)")
        let order = fromPostgres.output.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[1] }
        #expect(order == ["", "Zoe", "alice", "bob", "Émile"])
    }

    @Test func anEmptyReportStillHasItsHeader() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        let result = try await CLI.run(["export", "members", "--db", url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "id,full_name,email,company_name,coworker_type,tariff_id,tariff_name,business_id,created_on,updated_on\r\n")
    }
}
