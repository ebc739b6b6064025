import Foundation
import GRDB
import NexMirrorStore

/// The shared store logic's statements on a SQLite file: reads on a pooled reader, writes on the
/// single writer. `run(_:in:)` serves code already inside a transaction.
public struct SQLiteExecutor: SQLExecutor {
    let database: any DatabaseWriter

    public init(_ database: any DatabaseWriter) { self.database = database }

    public var dialect: SQLDialect { .sqlite }

    public func read(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await database.read { db in try Self.run(statements, in: db) }
    }

    public func read(_ first: [SQLStatement], then plan: @escaping @Sendable ([[[Cell]]]) throws -> [SQLStatement]) async throws
        -> (first: [[[Cell]]], then: [[[Cell]]])
    {
        try await database.read { db in
            let found = try Self.run(first, in: db)
            return (found, try Self.run(try plan(found), in: db))
        }
    }

    public func write(_ statements: [SQLStatement]) async throws -> [[[Cell]]] {
        try await database.write { db in try Self.run(statements, in: db) }
    }

    /// Runs `statements` on a connection the caller holds, in its transaction.
    public static func run(_ statements: [SQLStatement], in db: Database) throws -> [[[Cell]]] {
        try statements.map { statement in
            try Row.fetchAll(db, sql: statement.sql, arguments: arguments(statement.arguments)).map(Cell.row)
        }
    }

    static func arguments(_ cells: [Cell]) -> StatementArguments {
        StatementArguments(cells.map { cell -> DatabaseValue in
            switch cell {
            case .null: .null
            case .integer(let integer): integer.databaseValue
            case .real(let real): real.databaseValue
            case .decimal(let decimal): decimal.databaseValue
            case .text(let text): text.databaseValue
            case .blob(let data): data.databaseValue
            }
        })
    }
}
