import NexMirrorCore

/// One delivery as a projection sees it: already verified, decoded and placed in the log.
public struct FoldInput: Sendable {
    public let seq: Int64
    public let action: WebhookAction
    public let entityType: String
    public let entityId: Int64
    public let updatedOn: Timestamp?
    public let dto: DTO
    /// The DTO's exact JSON text, stored in `data`.
    public let dtoJSON: String

    public init(
        seq: Int64, action: WebhookAction, entityType: String, entityId: Int64, updatedOn: Timestamp?,
        dto: DTO, dtoJSON: String
    ) {
        self.seq = seq
        self.action = action
        self.entityType = entityType
        self.entityId = entityId
        self.updatedOn = updatedOn
        self.dto = dto
        self.dtoJSON = dtoJSON
    }
}

/// Rows a delivery contributes to the replica when it is the entity's winning version.
public struct ProjectedEntity: Sendable, Equatable {
    /// Values of the projection's `columns`, in order.
    public var values: [SQLValue]
    /// Rows of each child table (replaced wholesale with the entity), keyed by table name; each
    /// row's values follow that child table's `columns`.
    public var children: [String: [[SQLValue]]]

    public init(values: [SQLValue], children: [String: [[SQLValue]]] = [:]) {
        self.values = values
        self.children = children
    }
}

/// A column of a projection's main table paired with how a DTO fills it, so that the column list
/// and the values cannot be reordered apart.
public struct ProjectedColumn: Sendable {
    public let name: String
    let value: @Sendable (DTO) throws(DTO.FieldError) -> SQLValue

    public init(_ name: String, _ value: @escaping @Sendable (DTO) throws(DTO.FieldError) -> SQLValue) {
        self.name = name
        self.value = value
    }
}

extension [ProjectedColumn] {
    /// The columns' values for `dto`, in the columns' order.
    public func values(of dto: DTO) throws(DTO.FieldError) -> [SQLValue] {
        var values: [SQLValue] = []
        values.reserveCapacity(count)
        for column in self { values.append(try column.value(dto)) }
        return values
    }
}

/// A table owned by a projection that holds rows derived from its entity's winning version.
public struct ChildTable: Sendable {
    public let name: String
    /// The column holding the parent entity's id; rows are replaced by it.
    public let parentColumn: String
    /// Columns the projection fills, after `parentColumn`.
    public let columns: [String]
}

/// A table with one row per delivery, whether or not it wins (e.g. `invoice_events`).
public struct HistoryTable: Sendable {
    public let name: String
    /// Columns after `seq`, which is always the delivery's log position.
    public let columns: [String]
}

/// A projection module: what deliveries of some entity types mean for the replica.
///
/// The fold rule itself (greatest `UpdatedOn` wins, ties to the later log position, deletes
/// win ties and leave tombstones) is the store's, the same for every projection; a projection
/// only says which rows represent a DTO. That keeps projections free of SQL dialects and lets
/// every backend apply the rule identically.
public protocol Projection: Sendable {
    /// Stable name, used by `rebuild --projection` and the `projections` table.
    var name: String { get }
    /// Bump when the rows produced for a DTO change; the replica is then rebuilt at start.
    var version: Int { get }
    /// Entity types whose deliveries this projection folds; nil means every type not claimed by
    /// another projection.
    var entityTypes: Set<String>? { get }
    /// The main table (created by a migration in `Schema/`).
    var table: String { get }
    /// Columns filled by `project`, after the common ones every typed table has (`id`,
    /// `unique_id`, `created_on`, `updated_on`) and before `seq` and `data`.
    var columns: [String] { get }
    var childTables: [ChildTable] { get }
    var historyTable: HistoryTable? { get }
    /// True when the main table's key is (`entity_type`, `id`) rather than `id` alone.
    var keyedByEntityType: Bool { get }

    func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity
    /// The history row of a delivery (values of `historyTable.columns`), when it has one.
    func history(_ input: FoldInput) -> [SQLValue]?
}

extension Projection {
    public var childTables: [ChildTable] { [] }
    public var historyTable: HistoryTable? { nil }
    public var keyedByEntityType: Bool { false }
    public func history(_ input: FoldInput) -> [SQLValue]? { nil }

    /// Every table the projection owns, main table first.
    public var ownedTables: [String] {
        [table] + childTables.map(\.name) + (historyTable.map { [$0.name] } ?? [])
    }
}

/// The projections of this build, in the order they are folded and listed.
public enum Projections {
    public static let all: [any Projection] = [
        CoworkersProjection(),
        BookingsProjection(),
        InvoicesProjection(),
        TeamsProjection(),
        CheckinsProjection(),
        ProposalsProjection(),
        ContractsProjection(),
        EntitiesProjection(),
    ]

    /// Every table folded from the log (SPEC §4.2): each projection's own tables in the order
    /// above, then `tombstones`. The tests and scripts/bench.d/tables.py compare replicas by it.
    public static let replicaTables: [String] = all.flatMap(\.ownedTables) + ["tombstones"]

    /// The projection that folds deliveries of `entityType`.
    public static func projection(for entityType: String) -> any Projection {
        byEntityType[entityType] ?? fallback
    }

    public static func named(_ name: String) -> (any Projection)? {
        all.first { $0.name == name }
    }

    private static let fallback: any Projection = all.first { $0.entityTypes == nil }!
    private static let byEntityType: [String: any Projection] = {
        var map: [String: any Projection] = [:]
        for projection in all {
            for type in projection.entityTypes ?? [] { map[type] = projection }
        }
        return map
    }()
}
