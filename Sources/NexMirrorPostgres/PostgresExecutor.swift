import Foundation
import Logging
import NIOCore
import NexMirrorStore
import PostgresNIO

/// The shared store logic's statements on PostgreSQL: each batch in one transaction on a pooled
/// connection, or on a session the caller holds (`--as-of`'s, whose TEMP relations only it sees).
public struct PostgresExecutor: SQLExecutor {
    let store: PostgresStore
    let session: PostgresConnection?
    /// What a database error says the statements were for (`cannot <doing>: …`); by default the
    /// start of the first statement.
    let doing: String?

    init(_ store: PostgresStore, session: PostgresConnection? = nil, doing: String? = nil) {
        self.store = store
        self.session = session
        self.doing = doing
    }

    public var dialect: SQLDialect { .postgreSQL }

    public func read(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await run(statements, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").first
    }

    public func read(_ first: [SQLStatement], then plan: @escaping @Sendable ([[[Cell]]]) throws -> [SQLStatement]) async throws
        -> (first: [[[Cell]]], then: [[[Cell]]])
    {
        try await run(first, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", then: plan)
    }

    public func write(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await run(statements, begin: "BEGIN").first
    }

    /// Runs `statements` in one transaction, then in the same one those `plan` makes of their rows.
    private func run(
        _ statements: [SQLStatement], begin: PostgresQuery,
        then plan: (@Sendable ([[[Cell]]]) throws -> [SQLStatement])? = nil
    ) async throws -> (first: [[[Cell]]], then: [[[Cell]]]) {
        let logger = store.logger
        let body: (PostgresConnection) async throws -> (first: [[[Cell]]], then: [[[Cell]]]) = { connection in
            try await connection.query(begin, logger: logger)
            do {
                let first = try await Self.run(statements, on: connection, logger: logger)
                var then: [[[Cell]]] = []
                if let plan { then = try await Self.run(try plan(first), on: connection, logger: logger) }
                try await connection.query("COMMIT", logger: logger)
                return (first, then)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
        return try await store.statement(doing ?? "run \(statements.first?.sql.prefix(40) ?? "nothing")") {
            if let session { return try await body(session) }
            return try await store.client.withConnection(body)
        }
    }

    /// Runs `statements` in order on a connection the caller holds, in its transaction.
    static func run(_ statements: [SQLStatement], on connection: PostgresConnection, logger: Logger) async throws -> [[[Cell]]] {
        var results: [[[Cell]]] = []
        for statement in statements { results.append(try await run(statement, on: connection, logger: logger)) }
        return results
    }

    /// Runs one statement on a connection the caller holds, in its transaction.
    static func run(_ statement: SQLStatement, on connection: PostgresConnection, logger: Logger) async throws -> [[Cell]] {
        var rows: [[Cell]] = []
        for try await row in try await connection.query(try query(statement), logger: logger) {
            rows.append(row.map(PostgresReader.cell))
        }
        return rows
    }

    static func query(_ statement: SQLStatement) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: statement.arguments.count)
        for argument in statement.arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .decimal(let decimal): try bindings.append(Decimal(string: decimal) ?? 0)
            case .text(let text): bindings.append(text)
            case .blob(let data): bindings.append(ByteBuffer(bytes: data))
            }
        }
        return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
    }
}

extension PostgresStore {
    /// Runs the shared store logic's statements on this store's pool.
    public var executor: PostgresExecutor { PostgresExecutor(self) }

    /// An executor whose database errors say `cannot <doing>: <PostgreSQL's reason>`.
    func describedExecutor(doing: String) -> PostgresExecutor { PostgresExecutor(self, doing: doing) }
}
