import Logging
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

extension PostgresStore: StoreCompaction {
    /// Deliveries deleted per transaction, so receivers' appends and projectors' folds never
    /// wait long behind a compaction.
    static let compactionBatch = 5000

    /// Plans on one REPEATABLE READ snapshot (`CompactionPlanner`), deletes in short
    /// transactions that also record the seq ranges, then vacuums `events` (and its TOAST
    /// table), so the removed tuples leave the table and its indexes; with `vacuum`,
    /// `VACUUM FULL` rewrites the table and gives the space back (an ACCESS EXCLUSIVE lock:
    /// appends wait meanwhile).
    public func compact(before: Timestamp, dryRun: Bool, vacuum: Bool) async throws -> CompactionSummary {
        let logger = logger
        do {
            var (remove, summary) = try await client.withConnection { connection in
                try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                do {
                    let plan = try await Self.planCompaction(on: connection, before: before, dryRun: dryRun, logger: logger)
                    try await connection.query("ROLLBACK", logger: logger)
                    return plan
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
            summary.bytesBefore = try await eventsBytes()
            guard !dryRun, !remove.isEmpty else {
                summary.bytesAfter = summary.bytesBefore
                return summary
            }
            let kinds = summary.kindsJSON
            let compaction = try await client.withTransaction(logger: logger) { connection in
                CompactionStatements.id(try await PostgresExecutor.run(
                    CompactionStatements.begin(before: before, kinds: kinds, at: .now, .postgreSQL), on: connection, logger: logger)) ?? 0
            }
            var offset = 0
            while offset < remove.count {
                let batch = Array(remove[offset..<min(offset + Self.compactionBatch, remove.count)])
                offset += batch.count
                try await client.withTransaction(logger: logger) { connection in
                    _ = try await PostgresExecutor.run(
                        CompactionStatements.remove(batch, compaction: compaction, at: .now, .postgreSQL), on: connection, logger: logger)
                }
            }
            try await client.query(PostgresQuery(unsafeSQL: vacuum ? "VACUUM FULL events" : "VACUUM events"), logger: logger)
            summary.bytesAfter = try await eventsBytes()
            return summary
        } catch let error as PSQLError {
            throw CompactionError.failed(database: url.description, reason: Self.reason(error))
        } catch let error as PostgresTransactionError {
            throw CompactionError.failed(database: url.description, reason: Self.reason(error))
        }
    }

    /// `events` with its TOAST table and indexes, as PostgreSQL counts them.
    private func eventsBytes() async throws -> Int {
        var bytes: Int64 = 0
        for try await size in try await client.query("SELECT pg_total_relation_size('events')", logger: logger)
            .decode(Int64.self) {
            bytes = size
        }
        return Int(bytes)
    }

    nonisolated(nonsending) private static func planCompaction(
        on connection: PostgresConnection, before: Timestamp, dryRun: Bool, logger: Logger
    ) async throws -> (remove: [LoggedDeliveryHeader], summary: CompactionSummary) {
        var deciding = Set<Int64>()
        for table in CompactionRule.deciding {
            for try await seq in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT seq FROM \(table)"), logger: logger
            ).decode(Int64.self) {
                deciding.insert(seq)
            }
        }
        var folded: Int64 = 0
        for try await checkpoint in try await connection.query(
            "SELECT coalesce(min(checkpoint), 0) FROM projections", logger: logger
        ).decode(Int64.self) {
            folded = checkpoint
        }
        var planner = CompactionPlanner(before: before, dryRun: dryRun, deciding: deciding)
        for try await (seq, action, entityType, entityId, quarantined, old, bytes) in try await connection.query("""
            SELECT seq, action, entity_type, entity_id, status = 'quarantined', received_at < \(before.description),
                   octet_length(body)::int8
            FROM events WHERE seq <= \(folded)
            """, logger: logger).decode((Int64, String, String?, Int64?, Bool, Bool, Int64).self) {
            planner.see(LoggedDeliveryHeader(
                seq: seq, action: action, entityType: entityType, entityId: entityId, quarantined: quarantined, old: old,
                bodyBytes: Int(bytes)))
        }
        return planner.finish()
    }

    /// The seqs compactions removed, for `check`.
    nonisolated(nonsending) static func compactedSeqs(on connection: PostgresConnection, logger: Logger) async throws
        -> CompactedSeqs
    {
        var ranges: [ClosedRange<Int64>] = []
        var recorded = false  // not before migration 0008
        for try await exists in try await connection.query(
            "SELECT to_regclass('compacted_seqs') IS NOT NULL", logger: logger
        ).decode(Bool.self) {
            recorded = exists
        }
        guard recorded else { return CompactedSeqs() }
        for try await (first, last) in try await connection.query(
            "SELECT first_seq, last_seq FROM compacted_seqs", logger: logger
        ).decode((Int64, Int64).self) {
            ranges.append(first...last)
        }
        return CompactedSeqs(ranges)
    }
}
