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
    struct RowGroup: Hashable, Sendable {
        let projection: String
        let entityType: String
    }

    /// A replica row: projections keyed by entity type hold one row per (entity type, id), the
    /// others one per id.
    struct RowKey: Hashable, Sendable {
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

    struct TombstoneKey: Hashable, Sendable {
        let entityType: String
        let id: Int64
    }

    /// A row key's state at the end of the batch.
    enum RowState: Sendable {
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

    /// The versions the replica tables hold for some entities: what a delivery is decided against.
    struct Versions: Sendable {
        var rows: [RowKey: FoldVersion] = [:]
        var tombstones: [TombstoneKey: FoldVersion] = [:]

        /// Puts the versions a batch decided (`Decided.end`, `Decided.deleted`) over versions read
        /// before that batch was written.
        mutating func overlay(_ decided: Decided) {
            rows.merge(decided.end.rows) { _, decided in decided }
            for key in decided.deleted { rows[key] = nil }
            tombstones.merge(decided.end.tombstones) { _, decided in decided }
        }
    }

    /// A batch decided against the stored versions: the end state of every key it touched, ready
    /// to be written, and the versions the tables hold for those keys once it is.
    struct Decided: Sendable {
        let quarantined: [(seq: Int64, reason: String)]
        let count: Int
        let lastSeq: Int64?
        let histories: [(projection: any Projection, rows: [[SQLValue]])]
        let tombstones: [FoldPlan]
        let states: [(projection: any Projection, states: [RowState])]
        /// The row and tombstone versions after this batch, for the keys it touched…
        let end: Versions
        /// …and the rows it removed.
        let deleted: Set<RowKey>
    }

    /// Reads the stored versions of the batch's entities, decides each delivery, writes the end states.
    func write(_ batch: Prepared) async throws {
        let versions = try await Self.storedVersions(of: batch.plans, suffix: suffix, on: connection, logger: logger)
        try await write(Self.decide(batch, against: versions))
    }

    /// Decides every delivery of `batch` in order with the shared rule, starting from `versions`.
    /// No database work: a rebuild decides the next batch while this one is written.
    static func decide(_ batch: Prepared, against versions: Versions) -> Decided {
        var rowVersions = versions.rows
        var tombstoneVersions = versions.tombstones
        var rows: [RowKey: RowState] = [:]
        var rowOrder: [RowKey] = []
        var touched: Set<RowKey> = []
        var tombstones: [TombstoneKey: FoldPlan] = [:]
        var tombstoneOrder: [TombstoneKey] = []
        var histories: [String: (any Projection, [[SQLValue]])] = [:]
        for plan in batch.plans {
            let projection = plan.projection
            let rowKey = RowKey(plan)
            touched.insert(rowKey)
            let tombstoneKey = TombstoneKey(entityType: plan.entityType, id: plan.entityId)
            let changes = FoldRule.changes(
                incoming: plan.version, row: rowVersions[rowKey], tombstone: tombstoneVersions[tombstoneKey])
            if changes.contains(.insertHistory), let history = plan.history, projection.historyTable != nil {
                histories[projection.name, default: (projection, [])].1.append([.integer(plan.version.seq)] + history)
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
        // Per projection, each key once, so one ON CONFLICT DO UPDATE never meets it twice.
        var byProjection: [String: (any Projection, [RowState])] = [:]
        for key in rowOrder {
            let state = rows[key]!
            byProjection[key.group.projection, default: (state.plan.projection, [])].1.append(state)
        }
        var end = Versions()
        var deleted: Set<RowKey> = []
        for key in touched {
            if let version = rowVersions[key] { end.rows[key] = version } else { deleted.insert(key) }
        }
        for key in tombstoneOrder { end.tombstones[key] = tombstoneVersions[key] }
        return Decided(
            quarantined: batch.quarantined, count: batch.count, lastSeq: batch.lastSeq,
            histories: histories.sorted { $0.key < $1.key }.map { (projection: $0.value.0, rows: $0.value.1) },
            tombstones: tombstoneOrder.map { tombstones[$0]! },
            states: byProjection.sorted { $0.key < $1.key }.map { (projection: $0.value.0, states: $0.value.1) },
            end: end, deleted: deleted)
    }

    /// Writes a decided batch: quarantine marks, history rows, tombstones, then per projection the
    /// rows deleted, the children of every touched entity cleared, the rows upserted with their
    /// children.
    func write(_ decided: Decided) async throws {
        for (seq, reason) in decided.quarantined {
            try await connection.query(
                "UPDATE events SET status = 'quarantined', error = \(reason) WHERE seq = \(seq)", logger: logger)
        }
        for (projection, values) in decided.histories {
            let history = projection.historyTable!
            try await insert(
                into: history.name + suffix, columns: ["seq"] + history.columns, rows: values, conflict: "DO NOTHING")
        }
        if !decided.tombstones.isEmpty {
            try await insert(
                into: "tombstones" + suffix, columns: ["entity_type", "id", "updated_on", "seq"],
                rows: decided.tombstones.map { plan in
                    [.text(plan.entityType), .integer(plan.entityId), plan.version.updatedOn.map(SQLValue.text) ?? .null,
                     .integer(plan.version.seq)]
                },
                conflict: "(entity_type, id) DO UPDATE SET updated_on = EXCLUDED.updated_on, seq = EXCLUDED.seq")
        }
        for (projection, states) in decided.states {
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
    static func storedVersions(
        of plans: [FoldPlan], suffix: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> Versions {
        var projections: [String: any Projection] = [:]
        for plan in plans { projections[plan.projection.name] = plan.projection }
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
                : Self.byTypeAndId(table, entityType: group.entityType, ids: ids)
            for try await (id, updatedOn, seq) in try await connection.query(query, logger: logger)
                .decode((Int64, String?, Int64).self)
            {
                rows[RowKey(group, id: id)] = FoldVersion(updatedOn: updatedOn, isDelete: false, seq: seq)
            }
        }
        var tombstones: [TombstoneKey: FoldVersion] = [:]
        for (entityType, ids) in idsByTombstoneType {
            for try await (id, updatedOn, seq) in try await connection.query(
                Self.byTypeAndId("tombstones" + suffix, entityType: entityType, ids: ids), logger: logger
            ).decode((Int64, String?, Int64).self)
            {
                tombstones[TombstoneKey(entityType: entityType, id: id)] = FoldVersion(updatedOn: updatedOn, isDelete: true, seq: seq)
            }
        }
        return Versions(rows: rows, tombstones: tombstones)
    }

    /// One probe of the `(entity_type, id)` key per id. `entity_type = $1 AND id = ANY($2)` is
    /// planned, on a rebuild's `__next` tables that have no statistics yet, as a scan of every
    /// row of that type with `id` as a filter: 10 ms per batch and type, 40 s of a 1M rebuild's
    /// server time (BENCHMARKS.md). `OFFSET 0` keeps the lateral subquery from being flattened
    /// into that same plan.
    static func byTypeAndId(_ table: String, entityType: String, ids: Set<Int64>) -> PostgresQuery {
        """
        SELECT t.id, t.updated_on, t.seq FROM unnest(\(Array(ids))::int8[]) AS k(id)
        CROSS JOIN LATERAL (
            SELECT id, updated_on, seq FROM \(unescaped: table) WHERE entity_type = \(entityType) AND id = k.id OFFSET 0
        ) AS t
        """
    }

    /// `INSERT … SELECT * FROM unnest($1, $2, …) ON CONFLICT …`: one array parameter per column
    /// (`PostgresColumnArray`), a column whose values are all NULL written as `NULL`. A chunk with
    /// a column of mixed kinds, which no projection makes, falls back to a multi-row `VALUES`.
    private func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws {
        let perStatement = 20_000
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            start += perStatement
            var binds = PostgresBindings(capacity: columns.count)
            var arrays: [String] = []
            var selected: [String] = []
            var mixed = false
            for column in columns.indices {
                switch PostgresColumnArray.element(of: chunk, column: column) {
                case .none:
                    selected.append("NULL")
                case .some(.none):
                    mixed = true
                case .some(.some(let element)):
                    binds.append(PostgresColumnArray(element: element, rows: chunk, column: column))
                    arrays.append("$\(binds.count)::\(element.sqlArrayType)")
                    selected.append("u.c\(column)")
                }
            }
            if mixed {
                try await insertValues(into: table, columns: columns, rows: chunk, conflict: conflict)
                continue
            }
            let names = columns.indices.filter { selected[$0] != "NULL" }.map { "c\($0)" }
            let sql = """
                INSERT INTO \(table) (\(columns.joined(separator: ", ")))
                SELECT \(selected.joined(separator: ", ")) FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))
                ON CONFLICT \(conflict)
                """
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        }
    }

    /// `INSERT … VALUES (…), (…) ON CONFLICT …` in chunks under the parameter limit.
    private func insertValues(
        into table: String, columns: [String], rows: ArraySlice<[SQLValue]>, conflict: String
    ) async throws {
        let perStatement = max(1, Self.parametersPerStatement / columns.count)
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + perStatement, rows.endIndex)]
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
