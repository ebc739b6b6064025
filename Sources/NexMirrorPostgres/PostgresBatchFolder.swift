import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// Folds a batch of deliveries into one set of replica tables (the live ones, a rebuild's
/// `__next` ones, `check`'s or an as-of read's TEMP ones) in a few round trips: the versions the
/// tables hold for the batch's entities are read in one statement per table and entity type,
/// every delivery is decided in memory by the shared `FoldRule` against them and the batch's
/// earlier decisions, and only each entity's state at the end of the batch is written, with
/// multi-row statements. The result is the per-delivery fold's: the last decision on a key is its
/// state. Memory is bounded by the batch, whatever the number of entities in the log.
struct PGBatchFolder {
    let connection: PostgresConnection
    let logger: Logger
    let suffix: String

    /// The rows of one projection's table that one read covers: those of one entity type where
    /// the projection is keyed by entity type, all of them ("") otherwise.
    private struct RowGroup: Hashable {
        let projection: String
        let entityType: String
    }

    /// A replica row: projections keyed by entity type hold one row per (entity type, id), the
    /// others one per id.
    private struct RowKey: Hashable {
        let group: RowGroup
        let id: Int64

        init(_ plan: FoldPlan) {
            group = RowGroup(
                projection: plan.projection.name, entityType: plan.projection.keyedByEntityType ? plan.entityType : "")
            id = plan.entityId
        }

        init(_ group: RowGroup, id: Int64) {
            self.group = group
            self.id = id
        }
    }

    private struct TombstoneKey: Hashable {
        let entityType: String
        let id: Int64
    }

    /// A row key's state at the end of the batch.
    private enum RowState {
        case upsert(FoldPlan)
        case delete(FoldPlan)

        var plan: FoldPlan { switch self { case .upsert(let plan), .delete(let plan): plan } }
    }

    /// PostgreSQL binds at most 65,535 parameters per statement; rows are sent in chunks below it.
    static let parametersPerStatement = 30_000

    /// A batch decoded and projected, ready to be written: no database work went into it, so it
    /// can be prepared while the previous batch is being written.
    struct Prepared: Sendable {
        let plans: [FoldPlan]
        /// Deliveries that cannot be folded: seq and reason, marked in the log when written.
        let quarantined: [(seq: Int64, reason: String)]
        let count: Int
        let lastSeq: Int64?
    }

    /// Decodes and projects `events` with the shared preparation (`FoldPreparation`).
    static func prepare(
        _ events: [PGLoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (PGLoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) -> Prepared {
        var plans: [FoldPlan] = []
        plans.reserveCapacity(events.count)
        var quarantined: [(seq: Int64, reason: String)] = []
        for event in events {
            switch FoldPreparation.of(
                seq: event.seq, action: event.action, entityType: event.entityType, body: event.body, status: event.status,
                signature: event.signature, selected: selected, shouldFold: { shouldFold(event, $0) })
            {
            case .skip: continue
            case .quarantine(let reason): quarantined.append((event.seq, reason))
            case .fold(let plan): plans.append(plan)
            }
        }
        return Prepared(plans: plans, quarantined: quarantined, count: events.count, lastSeq: events.last?.seq)
    }

    func fold(
        _ events: [PGLoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (PGLoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) async throws {
        try await write(Self.prepare(events, selected: selected, when: shouldFold))
    }

    /// Reads the stored versions of the batch's entities, decides each delivery, writes the end states.
    func write(_ batch: Prepared) async throws {
        for (seq, reason) in batch.quarantined {
            try await connection.query(
                "UPDATE events SET status = 'quarantined', error = \(reason) WHERE seq = \(seq)", logger: logger)
        }
        let plans = batch.plans
        guard !plans.isEmpty else { return }

        var projections: [String: any Projection] = [:]
        for plan in plans { projections[plan.projection.name] = plan.projection }
        var (rowVersions, tombstoneVersions) = try await storedVersions(of: plans, projections: projections)
        var rows: [RowKey: RowState] = [:]
        var rowOrder: [RowKey] = []
        var tombstones: [TombstoneKey: FoldPlan] = [:]
        var tombstoneOrder: [TombstoneKey] = []
        var histories: [String: [[SQLValue]]] = [:]
        for plan in plans {
            let projection = plan.projection
            let rowKey = RowKey(plan)
            let tombstoneKey = TombstoneKey(entityType: plan.entityType, id: plan.entityId)
            let changes = FoldRule.changes(
                incoming: plan.version, row: rowVersions[rowKey], tombstone: tombstoneVersions[tombstoneKey])
            if changes.contains(.insertHistory), let history = plan.history, projection.historyTable != nil {
                histories[projection.name, default: []].append([.integer(plan.version.seq)] + history)
            }
            if changes.contains(.writeTombstone) {
                tombstoneVersions[tombstoneKey] = plan.version
                if tombstones[tombstoneKey] == nil { tombstoneOrder.append(tombstoneKey) }
                tombstones[tombstoneKey] = plan
            }
            let state: RowState? = if changes.contains(.upsertRow), plan.row != nil {
                .upsert(plan)
            } else if changes.contains(.deleteRow) {
                .delete(plan)
            } else {
                nil
            }
            if changes.contains(.upsertRow) { rowVersions[rowKey] = plan.version }
            if changes.contains(.deleteRow) { rowVersions[rowKey] = nil }
            if let state {
                if rows[rowKey] == nil { rowOrder.append(rowKey) }
                rows[rowKey] = state
            }
        }

        for (name, values) in histories.sorted(by: { $0.key < $1.key }) {
            let history = projections[name]!.historyTable!
            try await insert(
                into: history.name + suffix, columns: ["seq"] + history.columns, rows: values, conflict: "DO NOTHING")
        }
        if !tombstoneOrder.isEmpty {
            try await insert(
                into: "tombstones" + suffix, columns: ["entity_type", "id", "updated_on", "seq"],
                rows: tombstoneOrder.map { key in
                    let plan = tombstones[key]!
                    return [.text(plan.entityType), .integer(plan.entityId), plan.version.updatedOn.map(SQLValue.text) ?? .null,
                            .integer(plan.version.seq)]
                },
                conflict: "(entity_type, id) DO UPDATE SET updated_on = EXCLUDED.updated_on, seq = EXCLUDED.seq")
        }
        // Per projection: rows deleted, children of every touched entity cleared, rows upserted
        // with their children (each key once, so one ON CONFLICT DO UPDATE never meets it twice).
        var byProjection: [String: [RowState]] = [:]
        for key in rowOrder { byProjection[key.group.projection, default: []].append(rows[key]!) }
        for (name, states) in byProjection.sorted(by: { $0.key < $1.key }) {
            let projection = projections[name]!
            let table = projection.table + suffix
            let deleted = states.compactMap { if case .delete(let plan) = $0 { plan } else { nil } }
            let upserted = states.compactMap { if case .upsert(let plan) = $0 { plan } else { nil } }
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
            let parents = states.map(\.plan.entityId)
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
                let childRows = upserted.flatMap { plan in plan.children[index].map { [.integer(plan.entityId)] + $0 } }
                guard !childRows.isEmpty else { continue }
                try await insert(
                    into: child.name + suffix, columns: [child.parentColumn] + child.columns, rows: childRows,
                    conflict: "DO NOTHING")
            }
        }
    }

    /// The row and tombstone versions the tables hold for the entities in `plans`: one indexed
    /// read per table and entity type (`= ANY` on the key, which the primary key serves).
    private func storedVersions(of plans: [FoldPlan], projections: [String: any Projection]) async throws
        -> ([RowKey: FoldVersion], [TombstoneKey: FoldVersion])
    {
        var idsByRowGroup: [RowGroup: Set<Int64>] = [:]
        var idsByTombstoneType: [String: Set<Int64>] = [:]
        for plan in plans {
            idsByRowGroup[RowKey(plan).group, default: []].insert(plan.entityId)
            idsByTombstoneType[plan.entityType, default: []].insert(plan.entityId)
        }
        var rows: [RowKey: FoldVersion] = [:]
        for (group, ids) in idsByRowGroup {
            let table = projections[group.projection]!.table + suffix
            let query: PostgresQuery = group.entityType.isEmpty
                ? "SELECT id, updated_on, seq FROM \(unescaped: table) WHERE id = ANY(\(Array(ids)))"
                : "SELECT id, updated_on, seq FROM \(unescaped: table) WHERE entity_type = \(group.entityType) AND id = ANY(\(Array(ids)))"
            for try await (id, updatedOn, seq) in try await connection.query(query, logger: logger)
                .decode((Int64, String?, Int64).self)
            {
                rows[RowKey(group, id: id)] = FoldVersion(updatedOn: updatedOn, isDelete: false, seq: seq)
            }
        }
        var tombstones: [TombstoneKey: FoldVersion] = [:]
        for (entityType, ids) in idsByTombstoneType {
            for try await (id, updatedOn, seq) in try await connection.query("""
                SELECT id, updated_on, seq FROM \(unescaped: "tombstones" + suffix)
                WHERE entity_type = \(entityType) AND id = ANY(\(Array(ids)))
                """, logger: logger).decode((Int64, String?, Int64).self)
            {
                tombstones[TombstoneKey(entityType: entityType, id: id)] = FoldVersion(updatedOn: updatedOn, isDelete: true, seq: seq)
            }
        }
        return (rows, tombstones)
    }

    /// `INSERT … VALUES (…), (…) ON CONFLICT …` in chunks under the parameter limit.
    private func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws {
        let perStatement = max(1, Self.parametersPerStatement / columns.count)
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            var binds = PostgresBindings(capacity: chunk.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(chunk.count)
            for row in chunk {
                let first = binds.count + 1
                for value in row { binds.bind(value) }
                tuples.append("(" + (first..<first + row.count).map { "$\($0)" }.joined(separator: ", ") + ")")
            }
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT \(conflict)"
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            start += perStatement
        }
    }
}
