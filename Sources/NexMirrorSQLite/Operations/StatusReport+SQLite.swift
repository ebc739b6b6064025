import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore

extension StatusReport {
    /// Reads the report at instant `now` on a connection already in a read transaction; the log's
    /// size is its file's and its WAL's, which only the file system knows.
    public init(db: Database, path: String, now: Timestamp = .now, silence: SilenceRule = SilenceRule()) throws {
        let plan = StatusPlan(try SQLiteExecutor.run(StatusPlan.probe(.sqlite), in: db), now: now, dialect: .sqlite)
        self = plan.report(try SQLiteExecutor.run(plan.statements, in: db), database: path, silence: silence)
        log.fileBytes = Self.size(of: path)
        log.walBytes = Self.size(of: path + "-wal")
    }

    private static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}

extension SQLiteStore: StatusReporting {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        let path = self.path
        return try await pool.read { db in try StatusReport(db: db, path: path, now: now, silence: silence) }
    }
}
