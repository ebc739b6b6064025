import Foundation
import NexudusFixtures
import Synchronization
import Testing

/// `rebuild` on PostgreSQL behind a long reader: its swap needs the live tables to itself, so it
/// waits in short attempts, says who holds them, and either swaps once they are let go or gives
/// up after `--swap-wait` with the live replica untouched.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresRebuildSwapTests {
    /// A psql session that holds ACCESS SHARE on `coworkers` (as a long `query` or `check` does)
    /// for `seconds`, named `long-report` in pg_stat_activity; returns once the lock is held.
    static func holdCoworkers(_ url: String, seconds: Int) async throws -> Task<CommandResult, any Error> {
        let holder = Task {
            try await CLI.run(
                ["-X", "-q", "-v", "ON_ERROR_STOP=1", url + "&application_name=long-report",
                 "-c", "BEGIN; LOCK TABLE coworkers IN ACCESS SHARE MODE; SELECT pg_sleep(\(seconds)); COMMIT"],
                executable: URL(fileURLWithPath: "/usr/bin/psql"))
        }
        try await poll {
            try PostgresCluster.psql(url, """
                SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE a.application_name = 'long-report' AND a.datname = current_database() AND l.granted
                  AND l.relation = 'coworkers'::regclass
                """) == "1"
        }
        return holder
    }

    @Test func theSwapWaitsBehindALongReaderNamesItAndSucceedsOnceItLetsGo() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        let names = NexudusFixtures.names
        for name in names.prefix(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        let holder = try await Self.holdCoworkers(url, seconds: 8)
        let started = Date()
        let finished = Mutex(false)
        let rebuilt = Task {
            let result = try await CLI.run(["rebuild", "--db", url, "--swap-wait", "60s"])
            finished.withLock { $0 = true }
            return result
        }
        // Deliveries keep arriving while the swap waits: folded live meanwhile (each attempt
        // holds the projector up a second at most), and into the rebuilt tables too.
        for name in names.dropFirst(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        #expect(!finished.withLock { $0 }, "the swap was still waiting when the live fold caught up")
        let result = try await rebuilt.value
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) > 2)
        #expect(result.output.hasPrefix("rebuilt coworkers"))
        #expect(result.stderr.contains("rebuild: swap attempt 1 waited behind pid "), "\(result.stderr)")
        #expect(result.stderr.contains("(long-report, "), "\(result.stderr)")
        #expect(result.stderr.contains("transaction open "), "\(result.stderr)")
        let held = try await holder.value
        #expect(held.status == 0, "the reader's transaction was not cut: \(held.stderr)")
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
        // and analyzed, long enough for a second session to take autovacuum's lock on one of
        // them (once the swap is queued for its locks) and keep it after the reader has gone.
        // 8 s: the rebuild process must start, fold and queue for its locks before the reader
        // lets go, also on a machine busy with the rest of the suite.
        let reader = try await Self.holdCoworkers(url, seconds: 8)
        let vacuum = Task {
            try await CLI.run(["-c", """
                for _ in $(seq 1000); do
                    [ "$(psql -X -At "$1" -c "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                        WHERE NOT l.granted AND a.application_name = 'nexmirror rebuild'
                          AND a.datname = current_database()")" = t ] && break
                    sleep 0.01
                done
                psql -X -q -v ON_ERROR_STOP=1 "$1&application_name=vacuum-like" \\
                    -c "BEGIN; LOCK TABLE coworkers__next IN SHARE UPDATE EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT"
                """, "vacuum-like", url], executable: URL(fileURLWithPath: "/bin/bash"))
        }
        let result = try await CLI.run(["rebuild", "--db", url, "--swap-wait", "60s"])
        #expect(try await reader.value.status == 0)
        let held = try await vacuum.value
        #expect(held.status == 0, "the lock was taken on the rebuilt table while the rebuild waited: \(held.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("(vacuum-like, "), "rebuild: \(result.output) \(result.stderr) / holder: \(held.output) \(held.stderr)")
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
        let holder = try await Self.holdCoworkers(url, seconds: 30)
        let started = Date()
        let result = try await CLI.run(["rebuild", "--db", url, "--swap-wait", "2s"])
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        let errors = lines.filter { !$0.hasPrefix("rebuild: swap attempt ") }
        #expect(errors.count == 1, "\(result.stderr)")
        let error = String(errors.first ?? "")
        #expect(error.hasPrefix("Error: rebuild gave up after "), "\(error)")
        #expect(error.contains(" s waiting to swap the rebuilt tables in, held by pid "), "\(error)")
        #expect(error.contains("(long-report, "), "\(error)")
        #expect(error.contains("--swap-wait"), "\(error)")
        #expect(try PostgresStoreTests.replicaDump(url) == replica)
        #expect(try PostgresCluster.psql(url, "SELECT name, version, checkpoint, rebuilt_at FROM projections ORDER BY name")
            == checkpoints)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_next'") == "0")
        _ = try PostgresCluster.psql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'long-report' AND datname = current_database()")
        _ = try await holder.value
    }
}
