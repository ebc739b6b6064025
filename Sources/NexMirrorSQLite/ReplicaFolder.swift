import Foundation
import Synchronization
import GRDB
import GRDBSQLite
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// A delivery as read back from the log for folding.
struct LoggedEvent {
    let seq: Int64
    let action: String
    let entityType: String?
    let body: [UInt8]
    let status: String
    /// Read for one decision: `api-404` marks the API's 404 as a delete (see `APINotFound`).
    let signature: String?

    static let columns = "seq, action, entity_type, body, status, signature"

    init(row: Row) {
        seq = row[0]
        action = row[1]
        entityType = row[2]
        let data: Data = row[3]
        body = [UInt8](data)
        status = row[4]
        signature = row[5]
    }
}

/// Applies the fold rules to the replica tables (or to their `__rebuild` copies).
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
        let events = try Row.fetchAll(
            db, sql: "SELECT \(LoggedEvent.columns) FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            arguments: [from, limit]
        ).map(LoggedEvent.init)
        guard let last = events.last?.seq else { return 0 }
        let folder = ReplicaFolder(db: db, suffix: "", selected: nil)
        for event in events {
            try folder.fold(event) { projection in event.seq > checkpoints[projection.name] ?? 0 }
        }
        try db.execute(
            sql: "UPDATE projections SET checkpoint = ?, updated_at = ? WHERE checkpoint < ?",
            arguments: [last, Timestamp.now.description, last])
        return events.count
    }

    /// Folds one delivery. A delivery that cannot be folded is quarantined with the reason and
    /// folding goes on.
    func fold(_ event: LoggedEvent, when shouldFold: (any Projection) -> Bool = { _ in true }) throws {
        let plan: FoldPlan
        switch FoldPreparation.of(
            seq: event.seq, action: event.action, entityType: event.entityType, body: event.body,
            status: event.status, signature: event.signature, selected: selected, shouldFold: shouldFold)
        {
        case .skip: return
        case .quarantine(let reason): return try quarantine(event.seq, reason: reason)
        case .fold(let folded): plan = folded
        }
        try apply(plan)
    }

    /// Folds one prepared delivery against the entity's current row and tombstone: looks them
    /// up, decides with `FoldRule`, writes what the decision says (the history row only when
    /// `history`).
    func apply(_ plan: FoldPlan, history: Bool = true) throws {
        let projection = plan.projection
        let entityType = plan.entityType, entityId = plan.entityId
        let sql = FoldSQL.statements(for: projection, suffix: suffix)
        let bindKey = { (values: inout Bindings) in
            values.bind(entityId)
            if projection.keyedByEntityType { values.bind(entityType) }
        }
        let rowVersion = try db.fetchFirst(sql.selectVersion, bindKey) {
            FoldVersion(updatedOn: columnText($0, 0), isDelete: false, seq: sqlite3_column_int64($0, 1))
        }
        let tombstoneVersion = try db.fetchFirst(sql.selectTombstone, { $0.bind(entityType); $0.bind(entityId) }) {
            FoldVersion(updatedOn: columnText($0, 0), isDelete: true, seq: sqlite3_column_int64($0, 1))
        }
        let changes = FoldRule.changes(incoming: plan.version, row: rowVersion, tombstone: tombstoneVersion)

        if history, changes.contains(.insertHistory) { try insertHistory(of: plan) }
        if changes.contains(.writeTombstone) {
            try db.run(sql.upsertTombstone) { values in
                values.bind(entityType)
                values.bind(entityId)
                values.bind(plan.version.updatedOn)
                values.bind(plan.version.seq)
            }
        }
        if changes.contains(.deleteRow) {
            try db.run(sql.deleteRow, bindKey)
            for deleteChildren in sql.deleteChildren {
                try db.run(deleteChildren) { $0.bind(entityId) }
            }
        }
        if changes.contains(.upsertRow), let row = plan.row {
            try db.run(sql.upsertRow) { values in
                for value in row.values { values.bind(value) }
            }
            for (index, rows) in plan.children.enumerated() {
                try db.run(sql.deleteChildren[index]) { $0.bind(entityId) }
                for row in rows {
                    try db.run(sql.insertChildren[index]) { values in
                        values.bind(entityId)
                        for value in row { values.bind(value) }
                    }
                }
            }
        }
    }

    /// The delivery's row in its projection's history table, if it has one (every delivery
    /// gets one, winner or not).
    func insertHistory(of plan: FoldPlan) throws {
        guard let history = plan.history,
              let insertHistory = FoldSQL.statements(for: plan.projection, suffix: suffix).insertHistory else { return }
        try db.run(insertHistory) { values in
            values.bind(plan.version.seq)
            for value in history { values.bind(value) }
        }
    }

    func quarantine(_ seq: Int64, reason: String) throws {
        try db.execute(
            sql: "UPDATE events SET status = ?, error = ? WHERE seq = ?",
            arguments: [DeliveryStatus.quarantined.rawValue, reason, seq])
    }
}

/// The SQL a projection's fold needs, built once per (projection, suffix) from its declared
/// (static) table and column names; every value is a bound parameter.
struct FoldSQL: Sendable {
    let selectVersion: String
    let selectTombstone: String
    let upsertRow: String
    let deleteRow: String
    let upsertTombstone: String
    let deleteChildren: [String]
    let insertChildren: [String]
    let insertHistory: String?

    private static let cache = Mutex<[String: FoldSQL]>([:])

    static func statements(for projection: any Projection, suffix: String) -> FoldSQL {
        let cacheKey = projection.name + suffix
        if let cached = cache.withLock({ $0[cacheKey] }) { return cached }
        let built = FoldSQL(projection, suffix)
        cache.withLock { $0[cacheKey] = built }
        return built
    }

    private init(_ projection: any Projection, _ suffix: String) {
        let table = projection.table + suffix
        let keyPredicate = projection.keyedByEntityType ? "id = ? AND entity_type = ?" : "id = ?"
        let columns = ProjectedRow.columns(of: projection)
        let tombstones = "tombstones" + suffix
        selectVersion = "SELECT updated_on, seq FROM \(table) WHERE \(keyPredicate)"
        selectTombstone = "SELECT updated_on, seq FROM \(tombstones) WHERE entity_type = ? AND id = ?"
        upsertRow = "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count)))"
        deleteRow = "DELETE FROM \(table) WHERE \(keyPredicate)"
        upsertTombstone = "INSERT OR REPLACE INTO \(tombstones) (entity_type, id, updated_on, seq) VALUES (?, ?, ?, ?)"
        deleteChildren = projection.childTables.map { "DELETE FROM \($0.name + suffix) WHERE \($0.parentColumn) = ?" }
        insertChildren = projection.childTables.map { child in
            let columns = [child.parentColumn] + child.columns
            return "INSERT OR IGNORE INTO \(child.name + suffix) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count)))"
        }
        insertHistory = projection.historyTable.map { history in
            let columns = ["seq"] + history.columns
            return "INSERT OR IGNORE INTO \(history.name + suffix) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count)))"
        }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
