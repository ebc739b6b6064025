import Foundation
import NexudusFixtures
import Testing

/// `history`, `check` and `backup` on `--db postgresql://…`.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresOperationsTests {
    /// Each of the entities with the most deliveries has the same history on both backends
    /// (received_at aside: the two receivers got the deliveries at different instants).
    @Test func historyIsTheSameAsOnSQLite() async throws {
        let (postgres, sqlite, scratch) = try await PostgresReadingTests.bothBackends()
        defer { withExtendedLifetime(scratch) {} }
        let busiest = try PostgresCluster.psql(postgres, """
            SELECT entity_type, entity_id FROM events WHERE entity_id IS NOT NULL
            GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 4
            """).split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
        #expect(busiest.count == 4)
        let strip = { (text: String) in
            text.split(separator: "\r\n").map {
                $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 1 }
                    .map(\.element).joined(separator: ",")
            }
        }
        for entity in busiest {
            let arguments = ["history", entity[0], entity[1], "--format", "csv"]
            let fromPostgres = try await CLI.run(arguments + ["--db", postgres])
            let fromSQLite = try await CLI.run(arguments + ["--db", sqlite])
            #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
            #expect(fromSQLite.status == 0, "\(fromSQLite.stderr)")
            #expect(strip(fromPostgres.output).count > 1)
            #expect(strip(fromPostgres.output) == strip(fromSQLite.output), "\(entity)")
        }
        let missing = try await CLI.run(["history", "coworkers", "999999999", "--db", postgres])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no delivery of Coworker 999999999 in the log"), "\(missing.stderr)")
    }
}
