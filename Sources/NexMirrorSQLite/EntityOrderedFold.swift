import GRDB
import NexMirrorCore
import NexMirrorStore

/// Rebuild's bulk pass: the log read in entity order (index `events_entity`), so that each
/// entity's deliveries arrive together and `BatchFold` leaves one write per entity however many
/// versions it has, in key order. The result is exactly the per-delivery fold's (the rule
/// depends only on the set of versions). On a log with many entities and few versions each,
/// that is one row write per entity instead of one per delivery.
enum EntityOrderedFold {
    /// An entity as the log indexes it: (entity_type, entity_id).
    struct Key: Equatable {
        let type: String
        let id: Int64
    }

    /// Deliveries folded at a time within a batch, cut between two entities: memory holds this
    /// many bodies and plans, whatever the batch size.
    static let chunk = 500

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
        var read = 0
        var events: [LoggedEvent] = []
        events.reserveCapacity(chunk)
        var previous: (type: String?, id: Int64?) = (nil, nil)
        while let row = try rows.next() {
            let type: String? = row[2]
            let id: Int64? = row["entity_id"]
            // A batch, or a chunk of one, ends between two entities, and only at a complete key:
            // the next batch starts after it.
            if let lastType = previous.type, let lastId = previous.id, type != lastType || id != lastId {
                if read >= limit {
                    try folder.fold(events)
                    return (read, maxSeq, Key(type: lastType, id: lastId))
                }
                if events.count >= chunk {
                    try folder.fold(events)
                    events.removeAll(keepingCapacity: true)
                }
            }
            let event = LoggedEvent(row: row)
            events.append(event)
            maxSeq = max(maxSeq, event.seq)
            previous = (type, id)
            read += 1
        }
        try folder.fold(events)
        return (read, maxSeq, nil)
    }
}
