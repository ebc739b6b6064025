import Foundation
import GRDB
import NexMirrorStore

extension EntityHistory {
    /// Reads the entity's deliveries from the log and replays them.
    public init(db: Database, entityTypes: [String], id: Int64) throws {
        let placeholders = entityTypes.map { _ in "?" }.joined(separator: ", ")
        let records = try Row.fetchAll(
            db, sql: """
                SELECT seq, received_at, action, source, updated_on, status, error, body, entity_type
                FROM events WHERE entity_id = ? AND entity_type IN (\(placeholders)) ORDER BY seq
                """, arguments: StatementArguments([id] + entityTypes)
        ).map { row in
            Record(
                seq: row[0], receivedAt: row[1], action: row[2], source: row[3], updatedOn: row[4], status: row[5],
                error: row[6], body: [UInt8](row[7] as Data), entityType: row[8])
        }
        self.init(entityTypes: entityTypes, id: id, records: records)
    }
}
