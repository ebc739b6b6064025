import NexMirrorCore
import NexMirrorProjections

/// A batch of deliveries decided against the versions the replica stores for them: the state
/// every key it touched is left in, which is all a backend writes. Every backend folds through
/// it (SQLite's live fold and its entity-ordered rebuild, PostgreSQL's batch folder), so they
/// only read the stored versions and turn the end state into statements.
///
/// Each delivery is decided in order by `FoldRule` against the stored versions and the batch's
/// earlier decisions; the last decision on a key is its state, so the writes equal the
/// per-delivery fold's while each entity is written once however many versions it has in the
/// batch. Any order and duplication of deliveries converges, as the rule does.
public struct BatchFold: Sendable {
    /// A row's state at the end of the batch.
    public enum RowState: Sendable {
        /// The row, and its child rows, become this delivery's.
        case upsert(FoldPlan)
        /// The row and its child rows are removed.
        case delete(FoldPlan)

        public var plan: FoldPlan { switch self { case .upsert(let plan), .delete(let plan): plan } }
    }

    /// One projection's row writes: each touched key once, in the order the batch first touched it.
    public struct Rows: Sendable {
        public let projection: any Projection
        public let states: [RowState]

        public var deleted: [FoldPlan] { states.compactMap { if case .delete(let plan) = $0 { plan } else { nil } } }
        public var upserted: [FoldPlan] { states.compactMap { if case .upsert(let plan) = $0 { plan } else { nil } } }
        /// The entities whose child rows are replaced: all cleared, then the upserted ones' written.
        public var parents: [Int64] { states.map(\.plan.entityId) }

        /// The upserted rows of child table `index` (in `childTables` order), the parent's id first.
        public func children(_ index: Int) -> [[SQLValue]] {
            upserted.flatMap { plan in plan.children[index].map { [.integer(plan.entityId)] + $0 } }
        }
    }

    /// One projection's history rows: one per delivery, winner or not, `seq` first.
    public struct History: Sendable {
        public let projection: any Projection
        public let rows: [[SQLValue]]
    }

    /// By projection name.
    public let histories: [History]
    /// Each entity's greatest delete of the batch, where it beats the stored tombstone; each key
    /// once, in the order the batch first wrote it.
    public let tombstones: [FoldPlan]
    /// By projection name; each key once, so one multi-row upsert never meets a key twice.
    public let rows: [Rows]
    /// The row and tombstone versions stored once this batch is written, for the keys it touched…
    public let end: StoredVersions
    /// …and the rows it removed.
    public let deleted: Set<FoldRowKey>

    /// Decides `plans` (in log order, or any order: the end state is the same) against `stored`,
    /// the versions the tables hold for their entities (`StoredVersions.lookups`).
    public static func decide(_ plans: [FoldPlan], against stored: StoredVersions) -> BatchFold {
        var rowVersions = stored.rows
        var tombstoneVersions = stored.tombstones
        var rows: [FoldRowKey: RowState] = [:]
        var rowOrder: [FoldRowKey] = []
        var touched: Set<FoldRowKey> = []
        var tombstones: [FoldTombstoneKey: FoldPlan] = [:]
        var tombstoneOrder: [FoldTombstoneKey] = []
        var histories: [String: (any Projection, [[SQLValue]])] = [:]
        for plan in plans {
            let projection = plan.projection
            let rowKey = plan.rowKey
            touched.insert(rowKey)
            let tombstoneKey = plan.tombstoneKey
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
        var byProjection: [String: (any Projection, [RowState])] = [:]
        for key in rowOrder {
            let state = rows[key]!
            byProjection[key.group.projection, default: (state.plan.projection, [])].1.append(state)
        }
        var end = StoredVersions()
        var deleted: Set<FoldRowKey> = []
        for key in touched {
            if let version = rowVersions[key] { end.rows[key] = version } else { deleted.insert(key) }
        }
        for key in tombstoneOrder { end.tombstones[key] = tombstoneVersions[key] }
        return BatchFold(
            histories: histories.sorted { $0.key < $1.key }.map { History(projection: $0.value.0, rows: $0.value.1) },
            tombstones: tombstoneOrder.map { tombstones[$0]! },
            rows: byProjection.sorted { $0.key < $1.key }.map { Rows(projection: $0.value.0, states: $0.value.1) },
            end: end, deleted: deleted)
    }
}
