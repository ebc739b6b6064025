import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `rebuild` on PostgreSQL behind a long reader: its swap needs the live tables to itself, so it
/// waits in short attempts, says who holds them, and either swaps once they are let go or gives
/// up after `--swap-wait` with the live replica untouched.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresRebuildSwapTests {
    @Test func theSwapWaitsBehindALongReaderNamesItAndSucceedsOnceItLetsGo() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        let names = NexudusFixtures.names
        for name in names.prefix(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        let reader = try await TableHold.start(url, name: "long-report")
        let rebuild = try BackgroundCommand(["rebuild", "--db", url, "--swap-wait", "60s"])
        // Deliveries keep arriving while the swap waits: folded live meanwhile (each attempt
        // holds the projector up a second at most), and into the rebuilt tables too.
        for name in names.dropFirst(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        #expect(rebuild.process.isRunning, "the swap must wait as long as the reader holds the table")
        // At least one attempt gave up behind the reader and said so before the reader goes.
        try await poll(timeout: 120) { rebuild.stderr.contains("rebuild: swap attempt 1 waited behind pid ") }
        let held = try await reader.release()
        #expect(held.status == 0, "the reader's transaction was not cut: \(held.stderr)")
        let status = try await rebuild.exit(within: 120)
        #expect(status == 0, "\(rebuild.stderr)")
        #expect(rebuild.output.hasPrefix("rebuilt coworkers"))
        #expect(rebuild.stderr.contains("(long-report, "), "\(rebuild.stderr)")
        #expect(rebuild.stderr.contains("transaction open "), "\(rebuild.stderr)")
        try await waitUntilFolded(url)
        let swapped = try PostgresStoreTests.replicaDump(url)
        let again = try await CLI.run(["rebuild", "--db", url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try PostgresStoreTests.replicaDump(url) == swapped)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == "\(names.count)")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_next'") == "0")
    }

    /// Autovacuum takes SHARE UPDATE EXCLUSIVE on a freshly filled table; on a rebuilt
    /// `__next` table that lock used to make the swap's rename time out and fail the rebuild
    /// (seen on a 1M-delivery log). The swap now locks the `__next` tables with the live ones, in
    /// the attempt that may be retried; autovacuum is off on them until they go live, analyzed.
    @Test func aLockOnARebuiltTableDelaysTheSwapWithoutFailingIt() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        for name in NexudusFixtures.names { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        await server.stop()
        // A reader of the live table keeps the swap waiting, with the rebuilt tables in place
        // and analyzed; once the swap is queued for its locks a second session takes
        // autovacuum's lock on one of them, and keeps it after the reader has gone until an
        // attempt has waited behind it. Each step waits for the one before, never for a time.
        let reader = try await TableHold.start(url, name: "long-report")
        let rebuild = try BackgroundCommand(["rebuild", "--db", url, "--swap-wait", "60s"])
        try await poll(timeout: 120) {
            try PostgresCluster.psql(url, """
                SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE NOT l.granted AND a.application_name = 'nexmirror rebuild' AND a.datname = current_database()
                """) == "t"
        }
        let vacuum = try await TableHold.start(
            url, table: "coworkers__next", mode: "SHARE UPDATE EXCLUSIVE", name: "vacuum-like")
        #expect(try await reader.release().status == 0)
        try await poll(timeout: 120) { rebuild.stderr.contains("(vacuum-like, ") }
        #expect(rebuild.process.isRunning, "the swap must wait while a rebuilt table is locked")
        let held = try await vacuum.release()
        #expect(held.status == 0, "the lock was taken on the rebuilt table while the rebuild waited: \(held.stderr)")
        #expect(try await rebuild.exit(within: 120) == 0, "\(rebuild.stderr)")
        // Live again: autovacuum back on, and statistics from the ANALYZE before the swap.
        #expect(try PostgresCluster.psql(url, """
            SELECT count(*) FROM pg_class WHERE relname IN ('coworkers', 'bookings', 'tombstones') AND reloptions IS NOT NULL
            """) == "0")
        #expect(try PostgresCluster.psql(url, "SELECT reltuples > 0 FROM pg_class WHERE relname = 'coworkers'") == "t")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_next'") == "0")
        let live = try PostgresStoreTests.replicaDump(url)
        let again = try await CLI.run(["rebuild", "--db", url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try PostgresStoreTests.replicaDump(url) == live)
    }

    @Test func aSwapWaitShorterThanTheReaderFailsInOneLineAndLeavesTheReplica() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        for name in NexudusFixtures.names { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        await server.stop()
        let replica = try PostgresStoreTests.replicaDump(url)
        let checkpoints = try PostgresCluster.psql(url, "SELECT name, version, checkpoint, rebuilt_at FROM projections ORDER BY name")
        let holder = try await TableHold.start(url, name: "long-report")
        // The reader never lets go by itself: a rebuild that did not give up would hang here.
        let rebuild = try BackgroundCommand(["rebuild", "--db", url, "--swap-wait", "2s"])
        #expect(try await rebuild.exit(within: 120) != 0)
        let stderr = rebuild.stderr
        let errors = stderr.split(separator: "\n").filter { !$0.hasPrefix("rebuild: swap attempt ") }
        #expect(errors.count == 1, "\(stderr)")
        let error = String(errors.first ?? "")
        #expect(error.hasPrefix("Error: rebuild gave up after "), "\(error)")
        #expect(error.contains(" s waiting to swap the rebuilt tables in, held by pid "), "\(error)")
        #expect(error.contains("(long-report, "), "\(error)")
        #expect(error.contains("--swap-wait"), "\(error)")
        #expect(try PostgresStoreTests.replicaDump(url) == replica)
        #expect(try PostgresCluster.psql(url, "SELECT name, version, checkpoint, rebuilt_at FROM projections ORDER BY name")
            == checkpoints)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_next'") == "0")
        #expect(try await holder.release().status == 0)
    }
}

/// A psql session that holds a lock on a table (as a long `query` or `check` does, or
/// autovacuum) until the test lets it go, named `name` in pg_stat_activity. A hold of a fixed
/// time would race the machine's speed: the holding transaction ends only once it can take an
/// advisory lock that a second session (`name-gate`) keeps until `release()` ends it.
struct TableHold {
    let url: String
    let name: String
    let session: Task<CommandResult, any Error>
    let gate: Task<CommandResult, any Error>

    /// Returns once the lock on `table` is held.
    static func start(
        _ url: String, table: String = "coworkers", mode: String = "ACCESS SHARE", name: String
    ) async throws -> TableHold {
        // Advisory locks are scoped to the database, and each test has a database of its own.
        let key = abs(name.hashValue % 1_000_000)
        let psql = URL(fileURLWithPath: "/usr/bin/psql")
        let gate = Task {
            try await CLI.run(
                ["-X", "-q", url + "&application_name=\(name)-gate",
                 "-c", "SELECT pg_advisory_lock(\(key))", "-c", "SELECT pg_sleep(3600)"],
                executable: psql)
        }
        try await poll {
            try Self.count(url, """
                SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE a.application_name = '\(name)-gate' AND a.datname = current_database()
                  AND l.locktype = 'advisory' AND l.granted
                """) == 1
        }
        let session = Task {
            try await CLI.run(
                ["-X", "-q", "-v", "ON_ERROR_STOP=1", url + "&application_name=\(name)",
                 "-c", "BEGIN; LOCK TABLE \(table) IN \(mode) MODE; SELECT pg_advisory_lock(\(key)); COMMIT"],
                executable: psql)
        }
        try await poll {
            try Self.count(url, """
                SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE a.application_name = '\(name)' AND a.datname = current_database() AND l.granted
                  AND l.relation = '\(table)'::regclass
                """) == 1
        }
        return TableHold(url: url, name: name, session: session, gate: gate)
    }

    /// Ends the gate, so the holding transaction commits; returns how the holder ended.
    func release() async throws -> CommandResult {
        _ = try PostgresCluster.psql(url, """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = '\(name)-gate' AND datname = current_database()
            """)
        _ = try await gate.value
        return try await session.value
    }

    private static func count(_ url: String, _ sql: String) throws -> Int {
        Int(try PostgresCluster.psql(url, sql)) ?? -1
    }
}

/// The real binary started in the background, its output in files the test can read while it
/// runs (a rebuild says what it waits for on stderr as it goes).
final class BackgroundCommand: @unchecked Sendable {
    let process: ChildProcess
    private let scratch = Scratch()

    init(_ arguments: [String]) throws {
        process = try ChildProcess(
            CLI.binary.path, arguments, environment: ["NEXMIRROR_DB": nil, "NEXMIRROR_SECRET": nil],
            standardOutput: scratch.path("out"), standardError: scratch.path("err"))
    }

    deinit { process.signal(SIGKILL); process.exitBlocking() }

    var output: String { (try? String(contentsOfFile: scratch.path("out"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: scratch.path("err"), encoding: .utf8)) ?? "" }

    /// Its exit status; killed (and recorded as an issue) if it is still running after `seconds`.
    func exit(within seconds: Double) async throws -> Int32 {
        try await poll(timeout: seconds) { !process.isRunning }
        process.signal(SIGKILL)
        return await process.exit()
    }
}
