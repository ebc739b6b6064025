import Logging
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// Folds a batch of deliveries into tables only its caller writes (a rebuild's `__next` tables,
/// `check`'s TEMP ones): each delivery is decided in memory by the shared `FoldRule` against the
/// versions written so far (`KnownVersions`), and only each entity's state at the end of the
/// batch is written, with multi-row statements: a few round trips per batch instead of 2–4 per
/// delivery. The result is the per-delivery fold's: the last decision on a key is its state.
struct PGBatchFolder {
    let connection: PostgresConnection
    let logger: Logger
    let suffix: String
    let known: KnownVersions

    /// A row key's state at the end of the batch.
    private enum RowState {
        case upsert(FoldPlan)
        case delete(FoldPlan)
    }

    /// PostgreSQL binds at most 65,535 parameters per statement; rows are sent in chunks below it.
    static let parametersPerStatement = 30_000

    func fold(
        _ events: [PGLoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (PGLoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) async throws {
        var rows: [String: RowState] = [:]
        var rowOrder: [String] = []
        var tombstones: [String: FoldPlan] = [:]
        var tombstoneOrder: [String] = []
        var histories: [String: [[SQLValue]]] = [:]
        var projections: [String: any Projection] = [:]
        for event in events {
            let plan: FoldPlan
            switch FoldPreparation.of(
                seq: event.seq, action: event.action, entityType: event.entityType, body: event.body, status: event.status,
                signature: event.signature, selected: selected, shouldFold: { shouldFold(event, $0) })
            {
            case .skip: continue
            case .quarantine(let reason):
                try await connection.query(
                    "UPDATE events SET status = 'quarantined', error = \(reason) WHERE seq = \(event.seq)", logger: logger)
                continue
            case .fold(let prepared): plan = prepared
            }
            let projection = plan.projection
            projections[projection.name] = projection
            let rowKey = "\(projection.name)|\(plan.entityType)|\(plan.entityId)"
            let tombstoneKey = "\(plan.entityType)|\(plan.entityId)"
            let (row, tombstone) = known.versions(row: rowKey, tombstone: tombstoneKey)
            let changes = FoldRule.changes(incoming: plan.version, row: row, tombstone: tombstone)
            known.record(changes, plan.version, row: rowKey, tombstone: tombstoneKey)
            if changes.contains(.insertHistory), let history = plan.history, projection.historyTable != nil {
                histories[projection.name, default: []].append([.integer(event.seq)] + history)
            }
            if changes.contains(.writeTombstone) {
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
        for key in rowOrder { byProjection[String(key.prefix { $0 != "|" }), default: []].append(rows[key]!) }
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
            let parents = states.map { switch $0 { case .delete(let plan), .upsert(let plan): plan.entityId } }
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
