/// One statement of the shared store logic, written with `SQLDialect.parameter(_:)`
/// placeholders, and the values bound to them in order.
public struct SQLStatement: Sendable, Equatable, CustomStringConvertible {
    public var sql: String
    public var arguments: [Cell]

    public init(_ sql: String, _ arguments: [Cell] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    public var description: String { sql }
}

/// What a backend lends the logic written once in this module: statements run in one read
/// snapshot or in one write transaction. The shared code decides the statements and what their
/// rows mean; a backend only runs them (connections, locking, retries stay its own).
///
/// Statements go in batches rather than one call each because SQLite's transactions are
/// synchronous closures: the shared code plans a batch, the backend runs it inside one.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `statements` in one read-only transaction (one consistent instant) and returns each
    /// one's rows, in order.
    func read(_ statements: [SQLStatement]) async throws -> [[[Cell]]]

    /// Runs `statements` in one write transaction and returns each one's rows, in order; nothing
    /// of it stays when one fails.
    func write(_ statements: [SQLStatement]) async throws -> [[[Cell]]]

    /// Runs `first`, then the statements `plan` makes of its rows, in one read-only transaction:
    /// for a plan that depends on what the database holds (which tables exist) and must still
    /// read one instant.
    func read(_ first: [SQLStatement], then plan: @escaping @Sendable ([[[Cell]]]) throws -> [SQLStatement]) async throws
        -> (first: [[[Cell]]], then: [[[Cell]]])
}

extension SQLExecutor {
    /// Two reads, for an executor that cannot hold one transaction across a plan; both backends
    /// run the two batches in one snapshot instead.
    public func read(_ first: [SQLStatement], then plan: @escaping @Sendable ([[[Cell]]]) throws -> [SQLStatement]) async throws
        -> (first: [[[Cell]]], then: [[[Cell]]])
    {
        let found = try await read(first)
        return (found, try await read(try plan(found)))
    }

    /// The rows of one read-only statement.
    public func rows(_ sql: String, _ arguments: [Cell] = []) async throws -> [[Cell]] {
        try await read([SQLStatement(sql, arguments)])[0]
    }

    /// The first column of the first row of one read-only statement; nil when there is none.
    public func value(_ sql: String, _ arguments: [Cell] = []) async throws -> Cell? {
        try await rows(sql, arguments).first?.first
    }
}
