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

    @Test func anEmptyReportStillHasItsHeader() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        let result = try await CLI.run(["export", "members", "--db", url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "id,full_name,email,company_name,coworker_type,tariff_id,tariff_name,business_id,created_on,updated_on\r\n")
    }
}
