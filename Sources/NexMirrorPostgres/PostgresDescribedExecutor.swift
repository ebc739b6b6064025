import Logging
import NexMirrorStore
import PostgresNIO

/// The shared store logic's statements on a store's pool, as `PostgresExecutor` runs them, with
/// a database error saying what they were for: `cannot <doing>: <PostgreSQL's reason>`.
struct PostgresDescribedExecutor: SQLExecutor {
    let store: PostgresStore
    let doing: String

    var dialect: SQLDialect { .postgreSQL }

    func read(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await described { try await store.executor.read(statements) }
    }

    func write(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await described { try await store.executor.write(statements) }
    }

    private func described<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch PostgresStatementError.failed(_, let reason) {
            throw PostgresStatementError.failed(doing: doing, reason: reason)
        }
    }
}

extension PostgresStore {
    func describedExecutor(doing: String) -> PostgresDescribedExecutor { PostgresDescribedExecutor(store: self, doing: doing) }
}

extension PostgresExecutor {
    /// Runs `statements` in order on a connection the caller holds, in its transaction.
    static func run(_ statements: [SQLStatement], on connection: PostgresConnection, logger: Logger) async throws -> [[[Cell]]] {
        var results: [[[Cell]]] = []
        for statement in statements { results.append(try await run(statement, on: connection, logger: logger)) }
        return results
    }
}
