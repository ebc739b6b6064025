import GRDB
import NexMirrorStore

extension EntityHistory {
    /// Reads the entity's deliveries from the log on a connection already in a read transaction,
    /// and replays them.
    public init(db: Database, entityTypes: [String], id: Int64) throws {
        let statement = Self.statement(entityTypes: entityTypes, id: id, dialect: .sqlite)
        self.init(entityTypes: entityTypes, id: id, rows: try SQLiteExecutor.run([statement], in: db)[0])
    }
}
