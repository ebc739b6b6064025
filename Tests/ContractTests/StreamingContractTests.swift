import Foundation
import NexMirrorTestSupport
import Testing

/// `query` streams its result on both backends (SPEC §6: the same behaviour on both): memory
/// stays flat however many rows come back, and an error after some rows were written ends the
/// same way on both.
@Suite struct StreamingContractTests {
    /// 300,000 rows of ~1 KB (~300 MB of CSV), each backend generating them itself.
    static func longResult(_ backend: Backend, rows: Int) -> String {
        switch backend {
        case .sqlite:
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < \(rows)) SELECT g, printf('%.1000c', 'x') AS x FROM s"
        case .postgresql:
            "SELECT g, repeat('x', 1000) AS x FROM generate_series(1, \(rows)) g"
        }
    }

    /// Rows 1…`rows` then, at row `failing`, an error of the database's own, with the same
    /// columns and values on both before it.
    static func failingResult(_ backend: Backend, rows: Int, failing: Int) -> String {
        switch backend {
        case .sqlite:
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < \(rows)) SELECT g, CASE WHEN g >= \(failing) THEN json('not json') END AS v FROM s"
        case .postgresql:
            "SELECT g, CASE WHEN g >= \(failing) THEN 1 / (g - g) END AS v FROM generate_series(1, \(rows)) g"
        }
    }

    /// The collecting reader peaked at ~370 MB on this query (the whole result in memory before
    /// the first line); streaming peaks at ~45 MB (debug build). The bound sits between, far
    /// from both, so it neither flakes nor lets collecting pass.
    static let peakBoundKiB = 150 * 1024

    @Test(arguments: Backend.all)
    func aLongResultStreamsInFlatMemory(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.run(["import", "/dev/null"])  // creates the schema
        let peakFile = database.scratch.path("peak")
        // GNU time reports the child's peak resident set (its VmHWM) in KiB; wc counts what
        // came out, so the test holds neither the output nor the pipe's backlog.
        let result = try await CLI.run(
            ["-c", #"/usr/bin/time -o "$0" -f %M "$@" | wc -l"#, peakFile, CLI.binary.path,
             "query", "--format", "csv", Self.longResult(backend, rows: 300_000), "--db", database.db],
            executable: URL(fileURLWithPath: "/bin/sh"))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "300001", "header and every row")
        let report = try String(contentsOfFile: peakFile, encoding: .utf8)
        let peak = try #require(report.split(separator: "\n").last.flatMap { Int($0) }, "\(report)")
        #expect(peak < Self.peakBoundKiB, "\(backend): query peaked at \(peak / 1024) MiB for 300,000 rows")
    }

    /// An error after rows were written leaves what the output had already flushed (64 KiB at a
    /// time, whole rows only) and ends in one line with status 1, as SQLite does; an error before
    /// the first flush leaves nothing. How many rows got out is not compared between the two:
    /// postgres-nio drops the rows it had received but not yet handed over when the error
    /// arrives, which varies with timing.
    @Test(arguments: Backend.all)
    func anErrorAfterRowsLeavesTheSameOutputOnBothBackends(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.run(["import", "/dev/null"])  // creates the schema
        let complete = "g,v\r\n" + (1...30_000).map { "\($0),\r\n" }.joined()
        let late = try await database.run(
            ["query", "--format", "csv", Self.failingResult(backend, rows: 30_000, failing: 20_001)])
        #expect(late.status == 1)
        #expect(late.stderr.hasPrefix("Error: SQL error: "), "\(late.stderr)")
        #expect(late.stderr.split(separator: "\n").count == 1, "\(late.stderr)")
        #expect(late.stdout.count >= 64 * 1024, "the rows before the error were streamed out")
        #expect(complete.utf8.starts(with: late.stdout), "only whole rows before the error")
        #expect(!late.output.contains("\r\n20001,"))

        let early = try await database.run(
            ["query", "--format", "csv", Self.failingResult(backend, rows: 30_000, failing: 100)])
        #expect(early.status == 1)
        #expect(early.stderr.hasPrefix("Error: SQL error: "), "\(early.stderr)")
        #expect(early.stdout.isEmpty, "\(early.output)")
    }
}
