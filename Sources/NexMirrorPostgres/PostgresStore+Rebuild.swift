import Foundation
import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

extension PostgresStore: ReplicaStore {
    /// Registers projections new to this database and rebuilds those whose version changed.
    @discardableResult
    public func registerProjectionsAndRebuildChanged(progress: ((RebuildProgress) -> Void)?) async throws -> [String] {
        let stale = try await registerProjections()
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
        let selection = try RebuildSelection(named: projectionNames)
        let logger = self.logger
        return try await statement("rebuild the replica") { try await client.withConnection { connection in
            // One rebuild at a time: a second waits rather than dropping the first one's tables.
            try await connection.query("SELECT pg_advisory_lock(\(Self.rebuildLock))", logger: logger)
            do {
                let summary = try await Self.rebuild(
                    selection, swap: swap, readAhead: client, on: connection, logger: logger,
                    progress: progress)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.rebuildLock))", logger: logger)
                return summary
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.rebuildLock))", logger: logger)
                throw error
            }
        } }
    }

    nonisolated(nonsending) private static func rebuild(
        _ selection: RebuildSelection, swap policy: SwapPolicy, readAhead: PostgresClient,
        on connection: PostgresConnection, logger: Logger, progress: ((RebuildProgress) -> Void)?
    ) async throws -> RebuildSummary {
            let started = ContinuousClock.now
            let selected = selection.names
            let tables = selection.tables
            let indexes = try await RebuiltIndex.of(tables, on: connection, logger: logger)
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)__next"), logger: logger)
                try await connection.query(
                    // No autovacuum on them: its lock on a freshly filled table would make the
                    // swap's renames wait (and time out); they are analyzed before the swap instead.
                    PostgresQuery(unsafeSQL: """
                        CREATE TABLE \(table)__next (LIKE \(table) INCLUDING ALL EXCLUDING INDEXES)
                        WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)
                        """), logger: logger)
            }
            for index in indexes where index.isNeededByTheFold {
                try await index.create(on: connection, logger: logger)
            }
            var high: Int64 = 0
            for try await last in try await connection.query("SELECT last_seq FROM log_head", logger: logger).decode(Int64.self) {
                high = last
            }
            // Bulk of the log, in batches that need no flush: a crash just means rebuilding again.
            let (folded, read) = try await foldArrived(
                after: 0, through: high, selected: selected, readAhead: readAhead, on: connection, logger: logger
            ) { read in
                progress?(RebuildProgress(eventsRead: read, eventsTotal: Int(high)))
            }
            for index in indexes where !index.isNeededByTheFold {
                try await index.create(on: connection, logger: logger)
            }
            // Planner statistics for the tables about to go live (autovacuum is off on them).
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(table)__next"), logger: logger)
            }
            let tail = try await swap(
                selection, indexes: indexes, after: folded, policy: policy, readAhead: readAhead,
                on: connection, logger: logger
            ) { [read] waited in
                progress?(RebuildProgress(eventsRead: read, eventsTotal: Int(high), swapWait: waited))
            }
            let elapsed = (ContinuousClock.now - started).components
            return RebuildSummary(
                projections: selection.projections.map(\.name), events: read + tail,
                seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }

    /// `pg_advisory_lock` key held by a rebuild for its whole run.
    static let rebuildLock: Int64 = 0x6E65_786D_6972_0002
}
