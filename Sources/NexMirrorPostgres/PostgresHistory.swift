import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `history` on PostgreSQL: the entity's deliveries read from its log, replayed by the shared code.
extension PostgresReader {
    public func history(of entityTypes: [String], id: Int64) async throws -> EntityHistory {
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(entityTypes)
        let query = PostgresQuery(unsafeSQL: """
            SELECT seq, received_at, action, source, updated_on, status, error, body, entity_type, signature
            FROM events WHERE entity_id = $1 AND entity_type = ANY($2) ORDER BY seq
            """, binds: binds)
        var records: [EntityHistory.Record] = []
        for try await row in try await store.client.query(query, logger: store.logger) {
            let cells = row.map(Self.cell)
            guard case .integer(let seq) = cells[0], case .text(let receivedAt) = cells[1],
                case .text(let action) = cells[2], case .text(let source) = cells[3], case .text(let status) = cells[5],
                case .blob(let body) = cells[7]
            else { continue }
            records.append(EntityHistory.Record(
                seq: seq, receivedAt: receivedAt, action: action, source: source, updatedOn: cells[4].rendered,
                status: status, error: cells[6].rendered, body: [UInt8](body), entityType: cells[8].rendered,
                signature: cells[9].rendered))
        }
        return EntityHistory(entityTypes: entityTypes, id: id, records: records)
    }
}
