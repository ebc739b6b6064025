import NexMirrorCore
import NexMirrorProjections

/// Where an entity's replica row lives: a projection keyed by entity type holds one row per
/// (entity type, id), the others one per id.
public struct FoldRowKey: Hashable, Sendable {
    /// The rows of one projection's table that one read covers: those of one entity type where
    /// the projection is keyed by entity type, all of them ("") otherwise.
    public struct Group: Hashable, Sendable {
        public let projection: String
        public let entityType: String

        public init(projection: String, entityType: String) {
            self.projection = projection
            self.entityType = entityType
        }
    }

    public let group: Group
    public let id: Int64

    public init(_ group: Group, id: Int64) {
        self.group = group
        self.id = id
    }
}

/// An entity's tombstone: one per (entity type, id), whatever projection folds it.
public struct FoldTombstoneKey: Hashable, Sendable {
    public let entityType: String
    public let id: Int64

    public init(entityType: String, id: Int64) {
        self.entityType = entityType
        self.id = id
    }
}

extension FoldPlan {
    public var rowKey: FoldRowKey {
        FoldRowKey(
            FoldRowKey.Group(projection: projection.name, entityType: projection.keyedByEntityType ? entityType : ""),
            id: entityId)
    }

    public var tombstoneKey: FoldTombstoneKey { FoldTombstoneKey(entityType: entityType, id: entityId) }

    /// The columns of a `tombstones` row, in `tombstoneValues` order.
    public static let tombstoneColumns = ["entity_type", "id", "updated_on", "seq"]

    /// This delete as its entity's tombstone row.
    public var tombstoneValues: [SQLValue] {
        [.text(entityType), .integer(entityId), SQLValue(version.updatedOn), .integer(version.seq)]
    }
}

/// The versions the replica tables hold for some entities: what a batch is decided against.
public struct StoredVersions: Sendable {
    public var rows: [FoldRowKey: FoldVersion]
    public var tombstones: [FoldTombstoneKey: FoldVersion]

    public init(rows: [FoldRowKey: FoldVersion] = [:], tombstones: [FoldTombstoneKey: FoldVersion] = [:]) {
        self.rows = rows
        self.tombstones = tombstones
    }

    /// What a backend reads before deciding `plans`: one plan per row key and one per tombstone
    /// key, in the order the plans first name them.
    public static func lookups(of plans: [FoldPlan]) -> (rows: [FoldPlan], tombstones: [FoldPlan]) {
        var rowKeys: Set<FoldRowKey> = []
        var tombstoneKeys: Set<FoldTombstoneKey> = []
        var rows: [FoldPlan] = []
        var tombstones: [FoldPlan] = []
        for plan in plans {
            if rowKeys.insert(plan.rowKey).inserted { rows.append(plan) }
            if tombstoneKeys.insert(plan.tombstoneKey).inserted { tombstones.append(plan) }
        }
        return (rows, tombstones)
    }

    /// Puts the versions a decided batch leaves over versions read before it was written, so the
    /// next batch can be decided while this one is being written.
    public mutating func overlay(_ fold: BatchFold) {
        rows.merge(fold.end.rows) { _, decided in decided }
        for key in fold.deleted { rows[key] = nil }
        tombstones.merge(fold.end.tombstones) { _, decided in decided }
    }
}
