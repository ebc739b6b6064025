import NexMirrorStore
import PostgresNIO

extension PostgresStore: ReaderAccess {
    /// One transaction: the role's privileges on every table and sequence of the schema are
    /// revoked, then SELECT granted on `ReaderRelations.all` (by `nexmirror_grant_reader`, which
    /// quotes the names with `format('%I')`), so running it again, after a migration or by
    /// hand, leaves exactly those grants.
    public func grantReader(role: String) async throws -> [String] {
        let relations = ReaderRelations.all
        do {
            return try await client.withTransaction(logger: logger) { [logger] connection in
                var exists = false
                for try await _ in try await connection.query(
                    "SELECT 1 FROM pg_roles WHERE rolname = \(role)", logger: logger
                ).decode(Int.self) {
                    exists = true
                }
                guard exists else { throw ReaderAccessError.noSuchRole(role) }
                try await connection.query("SELECT nexmirror_grant_reader(\(role), \(relations))", logger: logger)
                return relations
            }
        } catch let error as PostgresTransactionError {
            if let error = error.closureError as? ReaderAccessError { throw error }
            throw ReaderAccessError.failed(database: url.description, reason: Self.reason(error))
        } catch let error as PSQLError {
            throw ReaderAccessError.failed(database: url.description, reason: Self.reason(error))
        }
    }
}
