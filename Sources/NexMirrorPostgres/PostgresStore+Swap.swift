import Foundation
import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorSchema
import NexMirrorStore
import PostgresNIO

extension PostgresStore {
    /// Swaps the rebuilt `__next` tables in; returns how many deliveries it folded after the bulk.
    ///
    /// The swap needs ACCESS EXCLUSIVE on the live tables, so it waits for every reader (a long
    /// `query`, `check`, a report), and while it waits in the lock queue, new readers and the
    /// projectors' folds queue behind it. So each attempt queues at most `attemptTimeout`; when
    /// it times out, the rebuilt tables are kept, what arrived meanwhile is folded into them
    /// outside any swap, `report` is told who holds the tables, and the swap is tried again after
    /// a growing pause, until `totalWait` has passed. Then the rebuilt tables are dropped and
    /// `SwapTimedOut` names the holders: the live replica is untouched.
    nonisolated(nonsending) static func swap(
        _ selection: RebuildSelection, indexes: [RebuiltIndex], after folded: Int64,
        policy: SwapPolicy, readAhead: PostgresClient, on connection: PostgresConnection, logger: Logger, report: (SwapWait) -> Void
    ) async throws -> Int {
        let selected = selection.names
        let tables = selection.tables
        let clock = ContinuousClock()
        let started = clock.now
        var cursor = folded
        var tail = 0
        var pause: Duration = .milliseconds(500)
        var attempt = 0
        while true {
            attempt += 1
            let (caughtUp, count) = try await foldArrived(
                after: cursor, selected: selected, readAhead: readAhead, on: connection, logger: logger)
            cursor = caughtUp
            tail += count
            let left = policy.totalWait - (clock.now - started)
            let timeout = max(min(policy.attemptTimeout, left), .milliseconds(50))
            do {
                return tail + (try await attemptSwap(
                    selection, indexes: indexes, after: cursor, lockTimeout: timeout,
                    on: connection, logger: logger))
            } catch let error where isLockTimeout(error) {
                let holders = (try? await lockHolders(of: lockedBySwap(tables), on: connection, logger: logger)) ?? []
                let waited = clock.now - started
                guard waited < policy.totalWait else {
                    for table in tables {
                        _ = try? await connection.query(
                            PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)__next"), logger: logger)
                    }
                    throw SwapTimedOut(waited: waited, holders: holders)
                }
                let wait = min(pause, policy.totalWait - waited)
                report(SwapWait(attempt: attempt, waited: waited, limit: policy.totalWait, retryIn: wait, holders: holders))
                try await Task.sleep(for: wait)
                pause = min(pause * 2, .seconds(8))
            }
        }
    }

    /// Raised inside the swap transaction when its locks were not granted in time: nothing was
    /// written yet, so the attempt can be repeated. Only the lock statements are bounded by
    /// `lock_timeout`: once the locks are held, the tail and the renames wait for nobody.
    private struct LocksNotGranted: Error {}

    /// What a swap locks before it writes: the live tables, the view, and the rebuilt tables
    /// (which autovacuum, or a curious operator, may hold).
    private static func lockedBySwap(_ tables: [String]) -> [String] {
        tables + ["members"] + tables.map { $0 + "__next" }
    }

    private static func isLockTimeout(_ error: any Error) -> Bool {
        if error is LocksNotGranted { return true }
        if let error = error as? PostgresTransactionError { return error.closureError is LocksNotGranted }
        return false
    }

    /// One swap: the checkpoint rows first (the lock order of every fold), then the live tables
    /// and the view, all within `lockTimeout`; then the tail, the renames, the view and the
    /// checkpoints, which wait for nobody. Returns how many deliveries the tail held.
    nonisolated(nonsending) private static func attemptSwap(
        _ selection: RebuildSelection, indexes: [RebuiltIndex], after cursor: Int64,
        lockTimeout: Duration, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        let selected = selection.names
        let tables = selection.tables
        return try await connection.withTransaction(logger: logger) { connection in
            do {
                let (seconds, attoseconds) = lockTimeout.components
                let milliseconds = max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
                try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = '\(milliseconds)ms'"), logger: logger)
                for try await _ in try await connection.query(
                    "SELECT name FROM projections ORDER BY name FOR UPDATE", logger: logger
                ).decode(String.self) {}
                // Table names are the projections' own, never input.
                // The `__next` tables too, so no rename below can wait on anyone.
                try await connection.query(
                    PostgresQuery(unsafeSQL: "LOCK TABLE \(lockedBySwap(tables).joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE"),
                    logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
                throw LocksNotGranted()
            }
            var tail = 0
            var last = cursor
            while true {
                let events = try await PostgresFolder.events(after: last, limit: 2000, on: connection, logger: logger)
                guard let end = events.last?.seq else { break }
                try await PGBatchFolder(connection: connection, logger: logger, suffix: "__next")
                    .fold(events, selected: selected)
                tail += events.count
                last = end
            }
            // Tombstones of the projections not rebuilt carry over unchanged.
            if let carryOver = selection.carryOverTombstones(into: "tombstones__next", .postgreSQL) {
                _ = try await PostgresExecutor.run(carryOver, on: connection, logger: logger)
            }
            try await connection.query("DROP VIEW IF EXISTS members", logger: logger)
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE \(table)__next RENAME TO \(table)"), logger: logger)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE \(table) RESET (autovacuum_enabled, toast.autovacuum_enabled)"),
                    logger: logger)
            }
            // The live tables' indexes are gone with them: the rebuilt ones take their names.
            for index in indexes { try await index.rename(on: connection, logger: logger) }
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE VIEW members AS " + Schema.membersView), logger: logger)
            // The new tables and view carry no grants: `grant-reader`'s roles get theirs again.
            try await connection.query("SELECT nexmirror_grant_readers(\(tables + ["members"]))", logger: logger)
            let now = Timestamp.now.description
            for projection in selection.projections {
                try await connection.query("""
                    UPDATE projections SET checkpoint = \(last), version = \(Int64(projection.version)),
                        rebuilt_at = \(now), updated_at = \(now)
                    WHERE name = \(projection.name)
                    """, logger: logger)
            }
            return tail
        }
    }

    /// Folds the deliveries logged after `cursor` (up to `high`, if given) into the `__next`
    /// tables, in batches committed without a flush: a crash just means rebuilding again. Returns
    /// the new cursor and how many were read; `progress` hears the running count after each batch.
    ///
    /// Pipelined: while one batch is written, the next is read, decoded and decided on another
    /// connection of `readAhead`, against the stored versions read there (committed up to the
    /// batch before the one being written) with the versions the batch being written decided put
    /// over them. So nexmirror's work and PostgreSQL's overlap instead of taking turns (a profile
    /// of the unpipelined rebuild found the 2 cores idle half of the time); the `__next` tables
    /// have no other writer while this runs, so nothing else changes them meanwhile.
    nonisolated(nonsending) static func foldArrived(
        after cursor: Int64, through high: Int64 = .max, selected: Set<String>, readAhead: PostgresClient,
        on connection: PostgresConnection, logger: Logger, progress: (Int) -> Void = { _ in }
    ) async throws -> (Int64, Int) {
        // Every seq up to the log's head is committed (appends commit in seq order), so another
        // connection reads the same deliveries this one would.
        @Sendable func decided(after seq: Int64, following previous: PGBatchFolder.Decided?) async throws
            -> PGBatchFolder.Decided
        {
            try await readAhead.withConnection { connection in
                let events = try await PostgresFolder.events(after: seq, limit: 2000, on: connection, logger: logger)
                    .filter { $0.seq <= high }
                let batch = PGBatchFolder.prepare(events, selected: selected)
                var versions = try await PGBatchFolder.storedVersions(
                    of: batch.plans, suffix: "__next", on: connection, logger: logger)
                if let previous { versions.overlay(previous.fold) }
                return PGBatchFolder.decide(batch, against: versions)
            }
        }
        var last = cursor
        var count = 0
        guard last < high else { return (last, count) }
        var next: Task<PGBatchFolder.Decided, any Error>? = Task { try await decided(after: cursor, following: nil) }
        defer { next?.cancel() }
        while let deciding = next {
            let batch = try await deciding.value
            guard let end = batch.lastSeq else { break }
            // Started only now that the batch before `batch` is committed: what it reads from the
            // tables misses at most `batch`, whose decisions it puts over them.
            next = end < high ? Task { try await decided(after: end, following: batch) } : nil
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
                try await PGBatchFolder(connection: connection, logger: logger, suffix: "__next").write(batch)
            }
            last = end
            count += batch.count
            progress(count)
        }
        return (last, count)
    }

    /// The other connections holding any lock on `relations` (granted: they are what the swap
    /// queues behind), oldest transaction first.
    nonisolated(nonsending) private static func lockHolders(
        of relations: [String], on connection: PostgresConnection, logger: Logger
    ) async throws -> [LockHolder] {
        var holders: [LockHolder] = []
        for try await (pid, name, state, since, seconds) in try await connection.query("""
            SELECT a.pid::int8, coalesce(a.application_name, ''), coalesce(a.state, ''),
                   to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   extract(epoch FROM clock_timestamp() - a.xact_start)::float8
            FROM pg_stat_activity a
            WHERE a.pid <> pg_backend_pid() AND a.pid IN (
                SELECT l.pid FROM pg_locks l
                WHERE l.granted AND l.locktype = 'relation'
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.relation IN (SELECT to_regclass(r)::oid FROM unnest(\(relations)::text[]) AS r))
            ORDER BY a.xact_start NULLS LAST, a.pid
            """, logger: logger).decode((Int64, String, String, String?, Double?).self) {
            holders.append(LockHolder(
                pid: Int(pid), applicationName: name, state: state, transactionStart: since, transactionSeconds: seconds))
        }
        return holders
    }
}
