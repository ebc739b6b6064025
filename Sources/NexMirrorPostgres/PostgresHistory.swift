import NexMirrorStore

/// `history` on PostgreSQL: the entity's deliveries read from its log, replayed by the shared code.
extension PostgresReader {
    public func history(of entityTypes: [String], id: Int64) async throws -> EntityHistory {
        try await EntityHistory.read(from: store.executor, entityTypes: entityTypes, id: id)
    }
}
