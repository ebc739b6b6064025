import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `export` on a PostgreSQL database whose collation is not C. Every report byte-identical to
/// SQLite's for the same log is in Tests/ContractTests.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresExportTests {
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
}
