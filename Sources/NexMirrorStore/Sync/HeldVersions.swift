/// What the replica holds of one kind, as `sync` compares it with the API's list: per id, the
/// row's `updated_on` (nil inside when the row has none) and the tombstone's (nil inside: a
/// final delete). Text in the stored 7-digit form, so comparing strings compares times.
public struct HeldVersions: Sendable, Equatable {
    public var rows: [Int64: String?]
    public var tombstones: [Int64: String?]

    public init(rows: [Int64: String?] = [:], tombstones: [Int64: String?] = [:]) {
        self.rows = rows
        self.tombstones = tombstones
    }
}

/// Where a kind's rows are kept: a typed replica table, or `entities` under an entity type.
public struct HeldKind: Sendable, Equatable {
    /// A replica table (`coworkers`, …) or `entities`.
    public let table: String
    /// The entity type in `entities` and `tombstones` (`Coworker`, `Tariff`, …).
    public let entityType: String

    public init(table: String, entityType: String) {
        self.table = table
        self.entityType = entityType
    }

    /// Table names are spliced into SQL, so only the replica's own are accepted.
    public var checkedTable: String {
        get throws {
            guard StatusReport.tableNames.contains(table), table != "members", table != "tombstones" else {
                throw StoreError.missingTable(table)
            }
            return table
        }
    }
}

/// Reads the replica's versions without writing: the store itself for a sync, a read-only
/// connection or transaction for a dry run (which must write nothing, not even a new database).
public protocol HeldVersionReader: Sendable {
    /// The versions held of `kind`; empty when the store has no replica yet.
    func heldVersions(of kind: HeldKind) async throws -> HeldVersions

    /// How the last sync fetched each kind (by kind name), as far as a batch check decided it;
    /// empty when the store has no sync state yet.
    func fetchModes() async throws -> [String: FetchMode]
}

extension HeldVersions {
    /// The two reads of `heldVersions(of:)`, in one read transaction: the rows of `kind` (from
    /// its checked table) and its tombstones, each as (id, updated_on).
    public static func statements(_ kind: HeldKind, _ dialect: SQLDialect) throws -> [SQLStatement] {
        let table = try kind.checkedTable
        let p = dialect.parameter
        let type = Cell.text(kind.entityType)
        // `table` is one of the replica's own (HeldKind.checkedTable), never input.
        return [
            table == "entities"
                ? SQLStatement("SELECT id, updated_on FROM entities WHERE entity_type = \(p(1))", [type])
                : SQLStatement("SELECT id, updated_on FROM \(table)"),
            SQLStatement("SELECT id, updated_on FROM tombstones WHERE entity_type = \(p(1))", [type]),
        ]
    }

    /// The versions from the rows of `statements`.
    public init(_ results: [[[Cell]]]) {
        func versions(_ rows: [[Cell]]) -> [Int64: String?] {
            var versions: [Int64: String?] = [:]
            versions.reserveCapacity(rows.count)
            for row in rows {
                guard case .integer(let id) = row[0] else { continue }
                if case .text(let updatedOn) = row[1] { versions[id] = .some(updatedOn) } else { versions[id] = .some(nil) }
            }
            return versions
        }
        self.init(rows: versions(results[0]), tombstones: versions(results[1]))
    }
}
