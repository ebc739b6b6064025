import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// Folds the log into the replica tables on PostgreSQL with the shared rule (`FoldRule`).
///
/// Fenced in the database: each batch runs in one transaction that first locks the checkpoint
/// rows it will advance (`FOR UPDATE SKIP LOCKED`), so whatever number of receivers run a
/// projector, a delivery is folded into a projection exactly once, and a process killed
/// mid-batch leaves rows and checkpoint rolled back together. A batch is folded by the same
/// `PGBatchFolder` as a rebuild, so a receiver that fell behind catches up a batch per few round
/// trips.
struct PostgresFolder {
    let client: PostgresClient
    let logger: Logger

    func foldPending(limit: Int) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            // The replica can always be refolded from the log: no need to wait for the flush.
            try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            var checkpoints: [String: Int64] = [:]
            for try await (name, checkpoint) in try await connection.query(
                "SELECT name, checkpoint FROM projections ORDER BY name FOR UPDATE SKIP LOCKED", logger: logger
            ).decode((String, Int64).self) {
                checkpoints[name] = checkpoint
            }
            // Every row locked by another projector (or a rebuild swap): nothing to do here.
            guard let from = checkpoints.values.min() else { return 0 }
            let events = try await Self.events(after: from, limit: limit, on: connection, logger: logger)
            guard let last = events.last?.seq else { return 0 }
            try await PGBatchFolder(connection: connection, logger: logger, suffix: "").fold(events) { event, projection in
                checkpoints[projection.name].map { event.seq > $0 } ?? false
            }
            try await connection.query("""
                UPDATE projections SET checkpoint = \(last), updated_at = \(Timestamp.now.description)
                WHERE name = ANY(\(Array(checkpoints.keys))) AND checkpoint < \(last)
                """, logger: logger)
            return events.count
        }
    }

    static func events(after seq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> [LoggedEvent]
    {
        try await LoggedEvent.read(
            PostgresExecutor.query(LoggedEvent.after(seq, limit: limit, in: .postgreSQL)), on: connection, logger: logger)
    }
}

extension LoggedEvent {
    /// The deliveries `query` reads (`LoggedEvent.columns` first).
    static func read(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws
        -> [LoggedEvent]
    {
        var events: [LoggedEvent] = []
        for try await (seq, action, entityType, body, status, signature) in try await connection.query(query, logger: logger)
            .decode((Int64, String, String?, ByteBuffer, String, String?).self)
        {
            events.append(LoggedEvent(
                seq: seq, action: action, entityType: entityType, body: Array(buffer: body), status: status,
                signature: signature))
        }
        return events
    }
}

extension PostgresBindings {
    mutating func bind(_ value: SQLValue) {
        switch value {
        case .null: appendNull()
        case .integer(let integer): append(integer)
        case .real(let real): append(real)
        case .text(let text): append(text)
        }
    }
}
