import Synchronization
import NexMirrorStore
import NexMirrorProjections

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
