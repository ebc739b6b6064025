import Foundation
import Synchronization
import GRDB
import GRDBSQLite
import NexMirrorCore
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

/// The order of versions of one entity (SPEC §4.3): greatest `UpdatedOn`, then deletes over
/// creates and updates, then the later log position. A delete without `UpdatedOn` is final; a
/// create or update without one is older than any dated version.
struct FoldVersion: Comparable {
    let instant: String
    let deleteRank: Int
    let seq: Int64

    init(updatedOn: String?, isDelete: Bool, seq: Int64) {
        instant = updatedOn ?? (isDelete ? "~" : "")
        deleteRank = isDelete ? 1 : 0
        self.seq = seq
    }

    static func < (lhs: FoldVersion, rhs: FoldVersion) -> Bool {
        (lhs.instant, lhs.deleteRank, lhs.seq) < (rhs.instant, rhs.deleteRank, rhs.seq)
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
        guard event.status == "ok", let entityType = event.entityType,
              let action = ActionCatalog.action(named: event.action) else { return }
        let projection = Projections.projection(for: entityType)
        if let selected, !selected.contains(projection.name) { return }
        guard shouldFold(projection) else { return }

        let decoded: DeliveryBody
        do {
            decoded = try DeliveryBody.decode(event.body, for: action)
        } catch {
            return try quarantine(event.seq, reason: error.description)
        }
        guard let entityId = decoded.entityId else { return }
        let isDelete = APINotFound.deletes(action: action, signature: event.signature)
        let input = FoldInput(
            seq: event.seq, action: action, entityType: entityType, entityId: entityId,
            updatedOn: decoded.updatedOn, dto: decoded.dto,
            dtoJSON: String(decoding: event.body[decoded.dtoRange], as: UTF8.self))
        var projected: ProjectedEntity?
        if !isDelete {
            do {
                projected = try projection.project(input)
            } catch {
                return try quarantine(event.seq, reason: "\(projection.name): \(error.description)")
            }
        }

        let sql = FoldSQL.statements(for: projection, suffix: suffix)
        let bindKey = { (values: inout Bindings) in
            values.bind(entityId)
            if projection.keyedByEntityType { values.bind(entityType) }
        }
        if let history = projection.history(input) {
            try db.run(sql.insertHistory!) { values in
                values.bind(event.seq)
                for value in history { values.bind(value) }
            }
        }
        let updatedOn = decoded.updatedOn?.description
        let version = FoldVersion(updatedOn: updatedOn, isDelete: isDelete, seq: event.seq)
        let rowVersion = try db.fetchFirst(sql.selectVersion, bindKey) {
            FoldVersion(updatedOn: columnText($0, 0), isDelete: false, seq: sqlite3_column_int64($0, 1))
        }
        let tombstoneVersion = try db.fetchFirst(sql.selectTombstone, { $0.bind(entityType); $0.bind(entityId) }) {
            FoldVersion(updatedOn: columnText($0, 0), isDelete: true, seq: sqlite3_column_int64($0, 1))
        }
        let current = [rowVersion, tombstoneVersion].compactMap { $0 }.max()
        let wins = current.map { version > $0 } ?? true

        if isDelete {
            if tombstoneVersion.map({ version > $0 }) ?? true {
                try db.run(sql.upsertTombstone) { values in
                    values.bind(entityType)
                    values.bind(entityId)
                    values.bind(updatedOn)
                    values.bind(event.seq)
                }
            }
            if wins, rowVersion != nil {
                try db.run(sql.deleteRow, bindKey)
                for deleteChildren in sql.deleteChildren {
                    try db.run(deleteChildren) { $0.bind(entityId) }
                }
            }
        } else if wins, let projected {
            try db.run(sql.upsertRow) { values in
                if projection.keyedByEntityType { values.bind(entityType) }
                values.bind(entityId)
                values.bind((try? input.dto.string("UniqueId")).flatMap { $0 })
                values.bind((try? input.dto.timestamp("CreatedOn")).flatMap { $0 }?.description)
                values.bind(updatedOn)
                for value in projected.values { values.bind(value) }
                values.bind(event.seq)
                values.bind(input.dtoJSON)
            }
            for (index, child) in projection.childTables.enumerated() {
                try db.run(sql.deleteChildren[index]) { $0.bind(entityId) }
                for row in projected.children[child.name] ?? [] {
                    try db.run(sql.insertChildren[index]) { values in
                        values.bind(entityId)
                        for value in row { values.bind(value) }
                    }
                }
            }
        }
    }

    private func quarantine(_ seq: Int64, reason: String) throws {
        try db.execute(
            sql: "UPDATE events SET status = 'quarantined', error = ? WHERE seq = ?", arguments: [reason, seq])
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

    static func rowColumns(of projection: any Projection) -> [String] {
        (projection.keyedByEntityType ? ["entity_type"] : []) + ["id", "unique_id", "created_on", "updated_on"]
            + projection.columns + ["seq", "data"]
    }

    private init(_ projection: any Projection, _ suffix: String) {
        let table = projection.table + suffix
        let keyPredicate = projection.keyedByEntityType ? "id = ? AND entity_type = ?" : "id = ?"
        let columns = Self.rowColumns(of: projection)
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
