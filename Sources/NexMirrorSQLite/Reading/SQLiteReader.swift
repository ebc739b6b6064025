import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore

/// The read-only side of a SQLite store: SQLite itself refuses writes on its connection, and
/// every failure reaches the caller as one line (`StoreError`, `QueryError`).
public final class SQLiteReader: ReplicaReader {
    public let path: String
    let queue: DatabaseQueue
    /// The read-only connection, for code of this backend that reads it directly (sync's dry run).
    public var database: any DatabaseReader { queue }
    /// The as-of copy the queue reads, removed with the reader.
    private let asOfReplica: AsOfReplica?

    /// Opens the live database read-only.
    public convenience init(path: String) throws {
        try self.init(path: path, queue: Self.openQueue(path), asOfReplica: nil)
    }

    /// Opens the replica as it stood at `asOf`, folded aside from the live log (`--as-of`).
    public convenience init(path: String, asOf: Timestamp) throws {
        _ = try Self.openQueue(path)  // one clear line for a missing or foreign file
        let replica: AsOfReplica
        do {
            replica = try AsOfReplica(livePath: path, asOf: asOf)
        } catch let error as DatabaseError {
            throw StoreError.opening("cannot build the replica as of \(asOf): \(Self.oneLine(error))")
        }
        let queue = try Self.openQueue(replica.path)
        do {
            try queue.inDatabase { db in try replica.attachLog(db) }
        } catch let error as DatabaseError {
            replica.remove()
            throw StoreError.opening("cannot read the log as of \(asOf): \(Self.oneLine(error))")
        }
        try self.init(path: path, queue: queue, asOfReplica: replica)
    }

    private init(path: String, queue: DatabaseQueue, asOfReplica: AsOfReplica?) throws {
        self.path = path
        self.queue = queue
        self.asOfReplica = asOfReplica
    }

    deinit { asOfReplica?.remove() }

    static func openQueue(_ path: String) throws -> DatabaseQueue {
        do {
            return try SQLiteStore.openReadOnly(path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError.opening("\(path) is not a nexmirror database (not an SQLite file)")
        } catch let error as DatabaseError {
            throw StoreError.opening("cannot open \(path): \(oneLine(error))")
        }
    }

    /// Runs `body` in a read transaction; SQLite's errors become one-line `QueryError.sql`.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw QueryError.sql(Self.oneLine(error))
        }
    }

    /// SQLite's message without GRDB's echo of the (possibly multi-line) SQL.
    static func oneLine(_ error: DatabaseError) -> String {
        let message = error.message ?? "SQLite error \(error.resultCode.rawValue)"
        return message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public func query(_ sql: String, parameters: QueryParameters, into writer: inout some RowWriter) async throws {
        try read { db in
            let statement = try ReadOnlyStatement.prepare(sql, in: db)
            try writer.write(statement, arguments: try ReadOnlyStatement.arguments(parameters, for: statement))
        }
    }

    public func listEvents(_ filter: EventFilter, into writer: inout some RowWriter) async throws {
        let listing = filter.statement(.sqlite)
        try read { db in
            try writer.write(db.makeStatement(sql: listing.sql), arguments: SQLiteExecutor.arguments(listing.arguments))
        }
    }

    public func event(seq: Int64) async throws -> LoggedDelivery? {
        try read { db in
            try SQLiteExecutor.run([LoggedDelivery.statement(seq: seq, dialect: .sqlite)], in: db)[0].first
                .map(LoggedDelivery.init(row:))
        }
    }

    public func lastSeq() async throws -> Int64? {
        try read { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM events") }
    }

    public func history(of entityTypes: [String], id: Int64) async throws -> EntityHistory {
        try read { db in try EntityHistory(db: db, entityTypes: entityTypes, id: id) }
    }

    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        try read { db in try StatusReport(db: db, path: path, now: now, silence: silence) }
    }
}
