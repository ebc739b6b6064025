import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// Folds a batch of deliveries into one set of replica tables (the live ones, a rebuild's
/// `__next` ones, `check`'s or an as-of read's TEMP ones) in a few round trips: the versions the
/// tables hold for the batch's entities are read in one statement per table and entity type,
/// the shared `BatchFold` decides the batch against them, and only each entity's state at the
/// end of the batch is written, with multi-row statements. Memory is bounded by the batch,
/// whatever the number of entities in the log.
struct PGBatchFolder {
    let connection: PostgresConnection
    let logger: Logger
    let suffix: String

    /// Decodes and projects `events` with the shared preparation (`PreparedBatch`).
    static func prepare(
        _ events: [LoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (LoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) -> PreparedBatch {
        PreparedBatch.of(events, selected: selected, when: shouldFold)
    }

    func fold(
        _ events: [LoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (LoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) async throws {
        try await write(Self.prepare(events, selected: selected, when: shouldFold))
    }

    /// A batch decided against the stored versions, ready to be written.
    struct Decided: Sendable {
        let batch: PreparedBatch
        let fold: BatchFold

        var count: Int { batch.count }
        var lastSeq: Int64? { batch.lastSeq }
    }

    /// Reads the stored versions of the batch's entities, decides the batch, writes its end state.
    func write(_ batch: PreparedBatch) async throws {
        let versions = try await Self.storedVersions(of: batch.plans, suffix: suffix, on: connection, logger: logger)
        try await write(Self.decide(batch, against: versions))
    }

    /// No database work: a rebuild decides the next batch while this one is written.
    static func decide(_ batch: PreparedBatch, against versions: StoredVersions) -> Decided {
        Decided(batch: batch, fold: BatchFold.decide(batch.plans, against: versions))
    }

    /// Writes a decided batch: quarantine marks, history rows, tombstones, then per projection the
    /// rows deleted, the children of every touched entity cleared, the rows upserted with their
    /// children.
    func write(_ decided: Decided) async throws {
        for statement in decided.batch.quarantineStatements(in: .postgreSQL) {
            _ = try await PostgresExecutor.run(statement, on: connection, logger: logger)
        }
        let fold = decided.fold
        for entry in fold.histories {
            let history = entry.projection.historyTable!
            try await insert(
                into: history.name + suffix, columns: ["seq"] + history.columns, rows: entry.rows, conflict: "DO NOTHING")
        }
        if !fold.tombstones.isEmpty {
            try await insert(
                into: "tombstones" + suffix, columns: FoldPlan.tombstoneColumns, rows: fold.tombstones.map(\.tombstoneValues),
                conflict: "(entity_type, id) DO UPDATE SET updated_on = EXCLUDED.updated_on, seq = EXCLUDED.seq")
        }
        for rows in fold.rows {
            let projection = rows.projection
            let table = projection.table + suffix
            let deleted = rows.deleted
            let upserted = rows.upserted
            if !deleted.isEmpty {
                if projection.keyedByEntityType {
                    try await connection.query("""
                        DELETE FROM \(unescaped: table) WHERE (entity_type, id) IN
                            (SELECT * FROM unnest(\(deleted.map(\.entityType))::text[], \(deleted.map(\.entityId))::bigint[]))
                        """, logger: logger)
                } else {
                    try await connection.query(
                        "DELETE FROM \(unescaped: table) WHERE id = ANY(\(deleted.map(\.entityId)))", logger: logger)
                }
            }
            let parents = rows.parents
            for child in projection.childTables {
                try await connection.query(
                    "DELETE FROM \(unescaped: child.name + suffix) WHERE \(unescaped: child.parentColumn) = ANY(\(parents))",
                    logger: logger)
            }
            guard !upserted.isEmpty else { continue }
            let columns = ProjectedRow.columns(of: projection)
            let key = projection.keyedByEntityType ? "entity_type, id" : "id"
            let updates = columns.filter { $0 != "id" && $0 != "entity_type" }.map { "\($0) = EXCLUDED.\($0)" }
            try await insert(
                into: table, columns: columns, rows: upserted.map { $0.row!.values },
                conflict: "(\(key)) DO UPDATE SET \(updates.joined(separator: ", "))")
            for (index, child) in projection.childTables.enumerated() {
                let childRows = rows.children(index)
                guard !childRows.isEmpty else { continue }
                try await insert(
                    into: child.name + suffix, columns: [child.parentColumn] + child.columns, rows: childRows,
                    conflict: "DO NOTHING")
            }
        }
    }

    /// The row and tombstone versions the tables hold for the entities in `plans`: one indexed
    /// read per table and entity type (`= ANY` on the key, which the primary key serves).
    static func storedVersions(
        of plans: [FoldPlan], suffix: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> StoredVersions {
        let lookups = StoredVersions.lookups(of: plans)
        var tables: [String: String] = [:]
        var idsByRowGroup: [FoldRowKey.Group: [Int64]] = [:]
        for plan in lookups.rows {
            tables[plan.projection.name] = plan.projection.table + suffix
            idsByRowGroup[plan.rowKey.group, default: []].append(plan.entityId)
        }
        var idsByTombstoneType: [String: [Int64]] = [:]
        for plan in lookups.tombstones { idsByTombstoneType[plan.entityType, default: []].append(plan.entityId) }
        var versions = StoredVersions()
        for (group, ids) in idsByRowGroup {
            let table = tables[group.projection]!
            let query: PostgresQuery = group.entityType.isEmpty
                ? "SELECT id, updated_on, seq FROM \(unescaped: table) WHERE id = ANY(\(ids))"
                : Self.byTypeAndId(table, entityType: group.entityType, ids: ids)
            for try await (id, updatedOn, seq) in try await connection.query(query, logger: logger)
                .decode((Int64, String?, Int64).self)
            {
                versions.rows[FoldRowKey(group, id: id)] = FoldVersion(updatedOn: updatedOn, isDelete: false, seq: seq)
            }
        }
        for (entityType, ids) in idsByTombstoneType {
            for try await (id, updatedOn, seq) in try await connection.query(
                Self.byTypeAndId("tombstones" + suffix, entityType: entityType, ids: ids), logger: logger
            ).decode((Int64, String?, Int64).self)
            {
                versions.tombstones[FoldTombstoneKey(entityType: entityType, id: id)] =
                    FoldVersion(updatedOn: updatedOn, isDelete: true, seq: seq)
            }
        }
        return versions
    }

    /// One probe of the `(entity_type, id)` key per id. `entity_type = $1 AND id = ANY($2)` is
    /// planned, on a rebuild's `__next` tables that have no statistics yet, as a scan of every
    /// row of that type with `id` as a filter: 10 ms per batch and type, 40 s of a 1M rebuild's
    /// server time (BENCHMARKS.md). `OFFSET 0` keeps the lateral subquery from being flattened
    /// into that same plan.
    static func byTypeAndId(_ table: String, entityType: String, ids: [Int64]) -> PostgresQuery {
        """
        SELECT t.id, t.updated_on, t.seq FROM unnest(\(ids)::int8[]) AS k(id)
        CROSS JOIN LATERAL (
            SELECT id, updated_on, seq FROM \(unescaped: table) WHERE entity_type = \(entityType) AND id = k.id OFFSET 0
        ) AS t
        """
    }
}
