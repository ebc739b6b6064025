import Foundation
import GRDB
import NexMirrorProjections
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// nexmirror's fold against an independent one: the pure-SQL fold the benchmark compares with
/// (scripts/bench.d/fold_sql.py, run by the sqlite3 shell on a copy of the same log). Two
/// implementations written apart must give the same replica, row for row and column for column.
@Suite struct IndependentFoldTests {
    static let replicaTables = Projections.replicaTables

    @Test func theBenchmarkScriptsNameTheReplicaTablesTheProjectionsOwn() async throws {
        let python = try await Tools.require("python3", debianPackage: "python3")
        let listed = try await CLI.run(
            ["-c", "import tables; print(' '.join(tables.REPLICA_TABLES))"],
            environment: ["PYTHONPATH": NexudusFixtures.packageRoot.appendingPathComponent("scripts/bench.d").path],
            executable: URL(fileURLWithPath: python))
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(Set(listed.output.split(whereSeparator: \.isWhitespace).map(String.init)) == Set(Self.replicaTables))
    }

    @Test func aSmallLogFoldsAsThePureSQLFoldFoldsIt() async throws {
        let sqlite3 = try await Tools.require("sqlite3", debianPackage: "sqlite3")
        let python = try await Tools.require("python3", debianPackage: "python3")
        let scripts = NexudusFixtures.packageRoot.appendingPathComponent("scripts/bench.d")

        // The fixtures (real bodies), then a generated log with late versions, ties on
        // UpdatedOn, deletes and every date form, appended as an import would.
        let mirror = try await Mirror.fromFixtures()
        #expect(mirror.imported.status == 0, "\(mirror.imported.stderr)")
        let generated = try await CLI.run(
            [scripts.appendingPathComponent("gen_log.py").path, mirror.path, "1500", "--seed", "10"],
            executable: URL(fileURLWithPath: python))
        #expect(generated.status == 0, "\(generated.stderr)")
        let rebuilt = try await mirror.run(["rebuild"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")

        let copy = mirror.scratch.path("sql-fold.sqlite")
        let queue = try DatabaseQueue(path: mirror.path)
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let foldSQL = try await CLI.run(
            [scripts.appendingPathComponent("fold_sql.py").path], executable: URL(fileURLWithPath: python))
        #expect(foldSQL.status == 0, "\(foldSQL.stderr)")
        let folded = try await CLI.run([copy], stdin: Array(foldSQL.stdout), executable: URL(fileURLWithPath: sqlite3))
        #expect(folded.status == 0 && folded.stderr.isEmpty, "\(folded.stderr)")

        let differences = try await queue.writeWithoutTransaction { db -> [String: (rows: Int, onlyOurs: Int, onlySQL: Int)] in
            try db.execute(sql: "ATTACH DATABASE ? AS sql", arguments: [copy])
            var differences: [String: (rows: Int, onlyOurs: Int, onlySQL: Int)] = [:]
            for table in Self.replicaTables {
                let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM main.\(table)") ?? 0
                let onlyOurs = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM (SELECT * FROM main.\(table) EXCEPT SELECT * FROM sql.\(table))") ?? -1
                let onlySQL = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM (SELECT * FROM sql.\(table) EXCEPT SELECT * FROM main.\(table))") ?? -1
                differences[table] = (rows, onlyOurs, onlySQL)
            }
            try db.execute(sql: "DETACH DATABASE sql")
            return differences
        }
        for table in Self.replicaTables {
            let found = try #require(differences[table])
            // An empty table would compare equal without showing anything.
            #expect(found.rows > 0, "\(table) is empty")
            #expect(found.onlyOurs == 0 && found.onlySQL == 0,
                    "\(table): \(found.onlyOurs) rows only in nexmirror's fold, \(found.onlySQL) only in the SQL fold")
        }
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 32 + 1500)
    }
}

/// Commands a test needs from Debian, installed when missing (CI starts on a fresh machine).
enum Tools {
    static func require(_ command: String, debianPackage: String) async throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let path = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let install = try await CLI.run(
            ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \(debianPackage)"],
            executable: URL(fileURLWithPath: "/bin/sh"))
        for directory in ["/usr/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(command)") {
            return "\(directory)/\(command)"
        }
        throw Shell.Failure(message: "\(command) is missing and `apt-get install \(debianPackage)` failed: \(install.stderr.suffix(400))")
    }
}
