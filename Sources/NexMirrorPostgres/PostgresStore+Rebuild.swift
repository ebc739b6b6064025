import Foundation
import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

extension PostgresStore: ReplicaStore {
    /// Registers projections new to this database and rebuilds those whose version changed.
    @discardableResult
    public func prepareProjections(progress: ((RebuildProgress) -> Void)?) async throws -> [String] {
        let stale = try await prepareProjections()
        if !stale.isEmpty { _ = try await rebuild(projectionNames: stale, progress: progress) }
        return stale
    }

    /// Refolds the projections into `__next` tables while receivers keep appending and folding,
    /// then swaps them in one transaction that holds every checkpoint row (so no projector folds
    /// meanwhile), folds the tail, renames the tables and recreates the view, which binds to a
    /// table by identity, not by name (design/POSTGRES.md §5). The swap waits for readers of the
    /// live tables as `swap` says (PostgresStore+Swap.swift).
    public func rebuild(
        projectionNames: [String]?, swap: SwapPolicy, progress: ((RebuildProgress) -> Void)?
    ) async throws -> RebuildSummary {
        let projections = (projectionNames ?? []).isEmpty
            ? Projections.all : Projections.all.filter { projectionNames!.contains($0.name) }
        let tables = projections.flatMap(\.ownedTables) + ["tombstones"]
        let logger = self.logger
        return try await statement("rebuild the replica") { try await client.withConnection { connection in
            // One rebuild at a time: a second waits rather than dropping the first one's tables.
            try await connection.query("SELECT pg_advisory_lock(\(Self.rebuildLock))", logger: logger)
            do {
                let summary = try await Self.rebuild(
                    projections, tables: tables, swap: swap, on: connection, logger: logger, progress: progress)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.rebuildLock))", logger: logger)
                return summary
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.rebuildLock))", logger: logger)
                throw error
            }
        } }
    }

    nonisolated(nonsending) private static func rebuild(
        _ projections: [any Projection], tables: [String], swap policy: SwapPolicy, on connection: PostgresConnection,
        logger: Logger, progress: ((RebuildProgress) -> Void)?
    ) async throws -> RebuildSummary {
            let started = ContinuousClock.now
            let selected = Set(projections.map(\.name))
            let known = KnownVersions()
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)__next"), logger: logger)
                try await connection.query(
                    // No autovacuum on them: its lock on a freshly filled table would make the
                    // swap's renames wait (and time out); they are analyzed before the swap instead.
                    PostgresQuery(unsafeSQL: """
                        CREATE TABLE \(table)__next (LIKE \(table) INCLUDING ALL)
                        WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)
                        """), logger: logger)
            }
            var high: Int64 = 0
            for try await last in try await connection.query("SELECT last_seq FROM log_head", logger: logger).decode(Int64.self) {
                high = last
            }
            // Bulk of the log, in batches that need no flush: a crash just means rebuilding again.
            var folded: Int64 = 0
            var read = 0
            while folded < high {
                let batch = try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
                    let events = try await PostgresFolder.events(after: folded, limit: 2000, on: connection, logger: logger)
                    let batch = events.filter { $0.seq <= high }
                    try await PGBatchFolder(connection: connection, logger: logger, suffix: "__next", known: known)
                        .fold(batch, selected: selected)
                    return batch
                }
                guard let last = batch.last?.seq else { break }
                folded = last
                read += batch.count
                progress?(RebuildProgress(eventsRead: read, eventsTotal: Int(high)))
            }
            // Planner statistics for the tables about to go live (autovacuum is off on them).
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(table)__next"), logger: logger)
            }
            let tail = try await swap(
                projections, tables: tables, after: folded, known: known, policy: policy, on: connection, logger: logger
            ) { [read] waited in
                progress?(RebuildProgress(eventsRead: read, eventsTotal: Int(high), swapWait: waited))
            }
            let elapsed = (ContinuousClock.now - started).components
            return RebuildSummary(
                projections: projections.map(\.name), events: read + tail,
                seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }

    /// `pg_advisory_lock` key held by a rebuild for its whole run.
    static let rebuildLock: Int64 = 0x6E65_786D_6972_0002
}
