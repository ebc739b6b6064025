import NexMirrorCore
import NexMirrorProjections
import Synchronization

/// A replica row as its projection fills it: each column name paired with its value, in the
/// order every backend writes them (`columns(of:)`).
public struct ProjectedRow: Sendable, Equatable {
    public let columns: [String]
    public let values: [SQLValue]

    /// The main table's columns: the key, the columns every typed table has, the projection's
    /// own, then `seq` and `data`.
    public static func columns(of projection: any Projection) -> [String] {
        if let cached = cache.withLock({ $0[projection.name] }) { return cached }
        let columns = (projection.keyedByEntityType ? ["entity_type"] : []) + ["id", "unique_id", "created_on", "updated_on"]
            + projection.columns + ["seq", "data"]
        cache.withLock { $0[projection.name] = columns }
        return columns
    }

    private static let cache = Mutex<[String: [String]]>([:])

    /// The pairs, for backends that build statements per row.
    public var pairs: Zip2Sequence<[String], [SQLValue]> { zip(columns, values) }
}

/// What one logged delivery means for the replica, worked out without reading the replica;
/// `FoldRule.changes` then says which of it applies.
public struct FoldPlan: Sendable {
    public let projection: any Projection
    public let entityType: String
    public let entityId: Int64
    public let version: FoldVersion
    /// The entity's row if this delivery wins; nil for a delete.
    public let row: ProjectedRow?
    /// Rows of each of the projection's child tables, in `childTables` order (empty for a delete).
    public let children: [[[SQLValue]]]
    /// The history row (values of `historyTable.columns`, after `seq`), when it has one.
    public let history: [SQLValue]?
}

/// The outcome of preparing a logged delivery for folding.
public enum FoldPreparation: Sendable {
    /// Nothing to fold: quarantined already, no entity, another projection's, or already folded.
    case skip
    /// The delivery cannot be folded; it is quarantined with this reason and folding goes on.
    case quarantine(String)
    case fold(FoldPlan)

    /// Decodes and projects one delivery of the log.
    /// - Parameter shouldFold: false for projections that already folded it (checkpoints).
    public static func of(
        seq: Int64, action actionName: String, entityType: String?, body: [UInt8], status: String,
        signature: String?, selected: Set<String>? = nil, shouldFold: (any Projection) -> Bool = { _ in true }
    ) -> FoldPreparation {
        guard status == DeliveryStatus.ok.rawValue, let entityType, let action = ActionCatalog.action(named: actionName) else { return .skip }
        let projection = Projections.projection(for: entityType)
        if let selected, !selected.contains(projection.name) { return .skip }
        guard shouldFold(projection) else { return .skip }

        let decoded: DeliveryBody
        do {
            decoded = try DeliveryBody.decode(body, for: action)
        } catch {
            return .quarantine(error.description)
        }
        guard let entityId = decoded.entityId else { return .skip }
        let input = FoldInput(
            seq: seq, action: action, entityType: entityType, entityId: entityId,
            updatedOn: decoded.updatedOn, dto: decoded.dto,
            dtoJSON: String(decoding: body[decoded.dtoRange], as: UTF8.self))
        let updatedOn = decoded.updatedOn?.description
        // The API's 404 deletes too, for entity types without a Delete action (`APINotFound`).
        let isDelete = APINotFound.deletes(action: action, signature: signature)
        let version = FoldVersion(updatedOn: updatedOn, isDelete: isDelete, seq: seq)

        var row: ProjectedRow?
        var children: [[[SQLValue]]] = []
        if !isDelete {
            let projected: ProjectedEntity
            let uniqueId: String?
            let createdOn: Timestamp?
            do {
                projected = try projection.project(input)
                uniqueId = try input.dto.string("UniqueId")
                createdOn = try input.dto.timestamp("CreatedOn")
            } catch {
                return .quarantine("\(projection.name): \(error.description)")
            }
            let columns = ProjectedRow.columns(of: projection)
            var values: [SQLValue] = []
            values.reserveCapacity(columns.count)
            if projection.keyedByEntityType { values.append(.text(entityType)) }
            values += [.integer(entityId), SQLValue(uniqueId), SQLValue(createdOn), SQLValue(updatedOn)]
            values += projected.values
            values += [.integer(seq), .text(input.dtoJSON)]
            guard values.count == columns.count else {
                return .quarantine("\(projection.name): \(projected.values.count) values for \(projection.columns.count) columns")
            }
            row = ProjectedRow(columns: columns, values: values)
            children = projection.childTables.map { projected.children[$0.name] ?? [] }
        }
        return .fold(FoldPlan(
            projection: projection, entityType: entityType, entityId: entityId, version: version,
            row: row, children: children, history: projection.history(input)))
    }
}
