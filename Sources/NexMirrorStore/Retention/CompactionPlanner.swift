import NexMirrorCore

/// What the log says of one delivery, enough to decide whether `compact` removes it (no body).
public struct LoggedDeliveryHeader: Sendable {
    public let seq: Int64
    public let action: String
    public let entityType: String?
    public let entityId: Int64?
    public let quarantined: Bool
    /// Received before the compaction's `before`.
    public let old: Bool
    public let bodyBytes: Int

    public init(
        seq: Int64, action: String, entityType: String?, entityId: Int64?, quarantined: Bool, old: Bool, bodyBytes: Int
    ) {
        self.seq = seq
        self.action = action
        self.entityType = entityType
        self.entityId = entityId
        self.quarantined = quarantined
        self.old = old
        self.bodyBytes = bodyBytes
    }

    /// The kind a summary counts it under: its entity type, or its action when it has none.
    public var kind: String { entityType ?? action }
}

/// `CompactionRule` applied to the log, the same on every backend: fed every delivery already
/// folded by every projection, in any order, and the seqs that decide the replica, it says
/// which deliveries to remove.
public struct CompactionPlanner: Sendable {
    private struct EntityKey: Hashable { let type: String, id: Int64 }

    private let deciding: Set<Int64>
    private var entitiesDecided: Set<EntityKey> = []
    private var candidates: [LoggedDeliveryHeader] = []
    private var summary: CompactionSummary

    /// - Parameter deciding: the `seq`s found in `CompactionRule.deciding` tables.
    public init(before: Timestamp, dryRun: Bool, deciding: Set<Int64>) {
        self.deciding = deciding
        summary = CompactionSummary(before: before, dryRun: dryRun)
    }

    public mutating func see(_ delivery: LoggedDeliveryHeader) {
        let key = delivery.entityType.flatMap { type in delivery.entityId.map { EntityKey(type: type, id: $0) } }
        if deciding.contains(delivery.seq) {
            if let key { entitiesDecided.insert(key) }
            if delivery.old { summary.kept += 1 }
            return
        }
        guard delivery.old else { return }
        if delivery.quarantined || key != nil {
            candidates.append(delivery)
        } else {
            summary.kept += 1
        }
    }

    /// The deliveries to remove, ascending by seq, and the summary they make. A superseded
    /// version is removed only when the entity's deciding delivery is in the log: otherwise
    /// the log and the replica disagree, and removing would hide it from `check`.
    public func finish() -> (remove: [LoggedDeliveryHeader], summary: CompactionSummary) {
        var summary = self.summary
        var remove: [LoggedDeliveryHeader] = []
        for delivery in candidates {
            let decided = delivery.entityType.flatMap { type in
                delivery.entityId.map { entitiesDecided.contains(EntityKey(type: type, id: $0)) }
            } ?? false
            if delivery.quarantined || decided {
                remove.append(delivery)
                summary.count(kind: delivery.kind, quarantined: delivery.quarantined, bytes: delivery.bodyBytes)
            } else {
                summary.kept += 1
            }
        }
        remove.sort { $0.seq < $1.seq }
        return (remove, summary)
    }
}
