import GRDB
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// Rebuild's bulk pass: the log read in entity order (index `events_entity`), so that each
/// entity's deliveries arrive together and are decided in memory by the same `FoldRule`. Only
/// the group's outcome (its winning row, its greatest delete) reaches the replica copies, through
/// the same look-up and decision as a single delivery, so the result is exactly the per-delivery
/// fold's (the rule depends only on the set of versions). On a log with many entities and few
/// versions each, that is one row write per entity instead of one per delivery, in key order.
/// Memory holds one entity's plans at a time.
struct EntityOrderedFold {
    /// An entity as the log indexes it: (entity_type, entity_id).
    struct Key: Equatable {
        let type: String
        let id: Int64
    }

    let folder: ReplicaFolder

    /// The entity whose deliveries are being gathered, as decoded from the bodies (the group
    /// also changes if a body's id ever differed from its `entity_id` column).
    private var key: Key?
    /// Its winning non-deleted version so far, and its greatest delete so far.
    private var row: FoldPlan?
    private var tombstone: FoldPlan?

    init(folder: ReplicaFolder) { self.folder = folder }

    /// The bulk query: deliveries of `log` up to `upTo` (and matching `filter`), in (entity_type,
    /// entity_id, seq) order, after the entity `after` (the last one of the previous batch) when given.
    static func query(after: Key?, log: String, filter: String) -> String {
        "SELECT \(LoggedEvent.columns), entity_id FROM \(log) INDEXED BY events_entity WHERE seq <= ?"
            + (filter.isEmpty ? "" : " AND \(filter)")
            + (after == nil ? "" : " AND (entity_type, entity_id) > (?, ?)")
            + " ORDER BY entity_type, entity_id, seq"
    }

    /// Folds up to about `limit` deliveries (never splitting an entity across batches) after the
    /// entity `after`, returning how many were read, the greatest `seq` among them and the last
    /// entity, nil once the log up to `upTo` is done. `log` and `filter` (SQL over the log's
    /// columns, with its `filterArguments`) let `--as-of` fold an attached log up to an instant.
    static func foldBatch(
        after: Key?, upTo: Int64, limit: Int, folder: ReplicaFolder, in db: Database,
        log: String = "events", filter: String = "", filterArguments: StatementArguments = []
    ) throws -> (read: Int, maxSeq: Int64, last: Key?) {
        var arguments: StatementArguments = [upTo]
        arguments += filterArguments
        if let after { arguments += [after.type, after.id] as StatementArguments }
        let rows = try Row.fetchCursor(db, sql: query(after: after, log: log, filter: filter), arguments: arguments)
        var maxSeq: Int64 = 0
        var fold = EntityOrderedFold(folder: folder)
        var read = 0
        var previous: (type: String?, id: Int64?) = (nil, nil)
        while let row = try rows.next() {
            let type: String? = row[2]
            let id: Int64? = row["entity_id"]
            // A batch ends between two entities, and only at a complete key: the next batch
            // starts after it.
            if read >= limit, let lastType = previous.type, let lastId = previous.id, type != lastType || id != lastId {
                try fold.flush()
                return (read, maxSeq, Key(type: lastType, id: lastId))
            }
            try fold.add(LoggedEvent(row: row))
            maxSeq = max(maxSeq, row[0] as Int64)
            previous = (type, id)
            read += 1
        }
        try fold.flush()
        return (read, maxSeq, nil)
    }

    mutating func add(_ event: LoggedEvent) throws {
        let plan: FoldPlan
        switch FoldPreparation.of(
            seq: event.seq, action: event.action, entityType: event.entityType, body: event.body,
            status: event.status, signature: event.signature, selected: folder.selected)
        {
        case .skip: return
        case .quarantine(let reason): return try folder.quarantine(event.seq, reason: reason)
        case .fold(let folded): plan = folded
        }
        let planKey = Key(type: plan.entityType, id: plan.entityId)
        if key != planKey {
            try flush()
            key = planKey
        }
        try folder.insertHistory(of: plan)
        let changes = FoldRule.changes(incoming: plan.version, row: row?.version, tombstone: tombstone?.version)
        if changes.contains(.writeTombstone) { tombstone = plan }
        if changes.contains(.deleteRow) { row = nil }
        if changes.contains(.upsertRow) { row = plan }
    }

    /// Applies the gathered entity's outcome as two deliveries: its greatest delete, then its
    /// winning version (which, when both exist, is the greater).
    mutating func flush() throws {
        if let tombstone { try folder.apply(tombstone, history: false) }
        if let row { try folder.apply(row, history: false) }
        key = nil
        row = nil
        tombstone = nil
    }
}
