import Foundation
import GRDB
import GRDBSQLite
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

extension LoggedEvent {
    /// A row whose first columns are `LoggedEvent.columns`.
    init(row: Row) {
        let data: Data = row[3]
        self.init(seq: row[0], action: row[1], entityType: row[2], body: [UInt8](data), status: row[4], signature: row[5])
    }

    /// The deliveries `statement` reads (`LoggedEvent.columns` first).
    static func fetchAll(_ statement: SQLStatement, in db: Database) throws -> [LoggedEvent] {
        try Row.fetchAll(db, sql: statement.sql, arguments: SQLiteExecutor.arguments(statement.arguments)).map(LoggedEvent.init)
    }
}

/// Folds deliveries into the replica tables (or into their `__rebuild` copies) in the caller's
/// transaction: reads the versions the tables hold for a batch's entities, lets the shared
/// `BatchFold` decide the batch, and writes its end state with prepared statements reused from
/// delivery to delivery (`FoldSQL`).
///
/// The replica is a function of the set of deliveries: each entity holds its greatest version,
/// tombstones hold each entity's greatest delete, history tables hold one row per delivery. So
/// any order and any duplication of deliveries converge to the same tables.
struct ReplicaFolder {
    let db: Database
    /// Appended to every replica table name: "" for the live tables, `__rebuild` for a rebuild.
    let suffix: String
    /// Projections to fold; others' deliveries are skipped. nil folds all.
    let selected: Set<String>?

    static let rebuildSuffix = "__rebuild"

    /// Folds deliveries after the lowest checkpoint into the live tables and advances the
    /// checkpoints, all in the caller's transaction.
    static func foldPending(in db: Database, limit: Int) throws -> Int {
        let checkpoints = try Dictionary(
            uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, checkpoint FROM projections").map {
                (row: Row) -> (String, Int64) in (row[0], row[1])
            })
        guard let from = checkpoints.values.min() else { return 0 }
        let events = try LoggedEvent.fetchAll(LoggedEvent.after(from, limit: limit, in: .sqlite), in: db)
        guard let last = events.last?.seq else { return 0 }
        try ReplicaFolder(db: db, suffix: "", selected: nil).fold(events) { event, projection in
            event.seq > checkpoints[projection.name] ?? 0
        }
        try db.execute(
            sql: "UPDATE projections SET checkpoint = ?, updated_at = ? WHERE checkpoint < ?",
            arguments: [last, Timestamp.now.description, last])
        return events.count
    }

    /// Folds a batch of deliveries. A delivery that cannot be folded is quarantined with the
    /// reason and folding goes on.
    /// - Parameter shouldFold: false for a projection that already folded the delivery.
    func fold(_ events: [LoggedEvent], when shouldFold: (LoggedEvent, any Projection) -> Bool = { _, _ in true }) throws {
        let batch = PreparedBatch.of(events, selected: selected, when: shouldFold)
        for statement in batch.quarantineStatements(in: .sqlite) {
            try db.execute(sql: statement.sql, arguments: SQLiteExecutor.arguments(statement.arguments))
        }
        try apply(batch.plans)
    }

    /// Folds prepared deliveries: reads the versions stored for their entities, decides them
    /// with `BatchFold`, writes the end state (the history rows only when `history`).
    func apply(_ plans: [FoldPlan], history: Bool = true) throws {
        guard !plans.isEmpty else { return }
        try write(BatchFold.decide(plans, against: storedVersions(of: plans)), history: history)
    }

    /// Folds one prepared delivery (a batch of one).
    func apply(_ plan: FoldPlan, history: Bool = true) throws {
        try apply([plan], history: history)
    }

    /// The versions of the rows and tombstones `plans` touch, one indexed look-up each.
    private func storedVersions(of plans: [FoldPlan]) throws -> StoredVersions {
        var versions = StoredVersions()
        let lookups = StoredVersions.lookups(of: plans)
        for plan in lookups.rows {
            let sql = FoldSQL.statements(for: plan.projection, suffix: suffix)
            versions.rows[plan.rowKey] = try db.fetchFirst(sql.selectVersion, { Self.bindKey(of: plan, to: &$0) }) {
                FoldVersion(updatedOn: columnText($0, 0), isDelete: false, seq: sqlite3_column_int64($0, 1))
            }
        }
        for plan in lookups.tombstones {
            let sql = FoldSQL.statements(for: plan.projection, suffix: suffix)
            versions.tombstones[plan.tombstoneKey] = try db.fetchFirst(
                sql.selectTombstone, { $0.bind(plan.entityType); $0.bind(plan.entityId) }
            ) {
                FoldVersion(updatedOn: columnText($0, 0), isDelete: true, seq: sqlite3_column_int64($0, 1))
            }
        }
        return versions
    }

    /// Writes a decided batch: history rows, tombstones, then per projection each touched row
    /// deleted or replaced, with its child rows.
    private func write(_ fold: BatchFold, history: Bool) throws {
        if history {
            for entry in fold.histories {
                guard let insertHistory = FoldSQL.statements(for: entry.projection, suffix: suffix).insertHistory else { continue }
                for row in entry.rows {
                    try db.run(insertHistory) { values in for value in row { values.bind(value) } }
                }
            }
        }
        for plan in fold.tombstones {
            try db.run(FoldSQL.statements(for: plan.projection, suffix: suffix).upsertTombstone) { values in
                for value in plan.tombstoneValues { values.bind(value) }
            }
        }
        for rows in fold.rows {
            let sql = FoldSQL.statements(for: rows.projection, suffix: suffix)
            for state in rows.states {
                let plan = state.plan
                switch state {
                case .delete: try db.run(sql.deleteRow) { Self.bindKey(of: plan, to: &$0) }
                case .upsert: try db.run(sql.upsertRow) { values in for value in plan.row!.values { values.bind(value) } }
                }
                for deleteChildren in sql.deleteChildren {
                    try db.run(deleteChildren) { $0.bind(plan.entityId) }
                }
                guard case .upsert = state else { continue }
                for (index, children) in plan.children.enumerated() {
                    for child in children {
                        try db.run(sql.insertChildren[index]) { values in
                            values.bind(plan.entityId)
                            for value in child { values.bind(value) }
                        }
                    }
                }
            }
        }
    }

    /// The row's key, in the order of `FoldSQL`'s key predicate.
    private static func bindKey(of plan: FoldPlan, to values: inout Bindings) {
        values.bind(plan.entityId)
        if plan.projection.keyedByEntityType { values.bind(plan.entityType) }
    }
}
