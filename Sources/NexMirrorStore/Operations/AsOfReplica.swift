import Foundation
import GRDB
import NexMirrorCore

/// The replica as the space stood at an instant T (`--as-of T`): a database of its own, built
/// aside in a scratch directory from the log's deliveries whose version time (`UpdatedOn`; a
/// delivery without one: its `received_at`) is at or before T, folded by the same code as
/// `rebuild`. The live database is only read (attached), never written.
public final class AsOfReplica {
    public let path: String
    public let deliveries: Int
    private let directory: URL

    public init(livePath: String, asOf: Timestamp, scratch: URL = FileManager.default.temporaryDirectory) throws {
        directory = scratch.appendingPathComponent("nexmirror-as-of-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("as-of.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            try store.prepareProjections()
            let columns = """
                seq, received_at, action, action_id, entity_type, entity_id, updated_on, body, body_sha256,
                source, signature, status, error
                """
            deliveries = try store.pool.writeWithoutTransaction { db in
                // A scratch copy: losing it to a crash costs nothing, so no fsync.
                try db.execute(sql: "PRAGMA synchronous = OFF")
                try db.execute(sql: "ATTACH DATABASE ? AS live", arguments: [livePath])
                defer { try? db.execute(sql: "DETACH DATABASE live") }
                var copied = 0
                try db.inTransaction {
                    try db.execute(
                        sql: """
                            INSERT INTO main.events (\(columns)) SELECT \(columns) FROM live.events
                            WHERE coalesce(updated_on, received_at) <= ? ORDER BY seq
                            """, arguments: [asOf.description])
                    copied = db.changesCount
                    return .commit
                }
                return copied
            }
            _ = try Rebuilder(store: store).rebuild(projectionNames: nil)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Removes the scratch database.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { remove() }
}
