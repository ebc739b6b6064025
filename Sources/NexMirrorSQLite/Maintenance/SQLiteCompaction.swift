import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore

extension SQLiteStore: StoreCompaction {
    /// Deliveries deleted per transaction: each holds the single writer for a few ms, so
    /// appends from a running `serve` queue behind it briefly instead of timing out.
    static let compactionBatch = 1000

    /// Plans on a read snapshot (`CompactionPlanner`), then deletes in short write
    /// transactions with `secure_delete` on (freed cells and pages are zeroed), recording each
    /// batch's seq ranges in the same transaction, and ends as an erasure does
    /// (`removeFreedBytes`: a file written before secure delete was on is rewritten once, the
    /// WAL truncated), so no byte of a removed body stays in the file or its WAL. With
    /// `vacuum`, the file is rewritten anyway, which gives the freed pages back.
    public func compact(before: Timestamp, dryRun: Bool, vacuum: Bool) async throws -> CompactionSummary {
        do {
            var (remove, summary) = try await pool.read { db in try Self.planCompaction(db, before: before, dryRun: dryRun) }
            summary.bytesBefore = try await pool.read { db in try Self.fileBytes(db) }
            guard !dryRun, !remove.isEmpty else {
                summary.bytesAfter = summary.bytesBefore
                summary.bytesFree = try await pool.read { db in try Self.freeBytes(db) }
                return summary
            }
            let kinds = summary.kindsJSON
            let compaction = try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA secure_delete = ON")
                try db.execute(sql: "PRAGMA synchronous = FULL")
                var id: Int64?
                try db.inTransaction(.immediate) {
                    id = CompactionStatements.id(try SQLiteExecutor.run(
                        CompactionStatements.begin(before: before, kinds: kinds, at: .now, .sqlite), in: db))
                    return .commit
                }
                return id ?? 0
            }
            var offset = 0
            while offset < remove.count {
                let batch = Array(remove[offset..<min(offset + Self.compactionBatch, remove.count)])
                offset += batch.count
                try await pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA secure_delete = ON")
                    try db.inTransaction(.immediate) {
                        _ = try SQLiteExecutor.run(
                            CompactionStatements.remove(batch, compaction: compaction, at: .now, .sqlite), in: db)
                        return .commit
                    }
                }
            }
            if vacuum { try await pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") } }
            try await removeFreedBytes()
            summary.bytesAfter = try await pool.read { db in try Self.fileBytes(db) }
            summary.bytesFree = try await pool.read { db in try Self.freeBytes(db) }
            return summary
        } catch let error as DatabaseError {
            throw CompactionError.failed(database: path, reason: error.message ?? error.description)
        }
    }

    static func planCompaction(_ db: Database, before: Timestamp, dryRun: Bool) throws
        -> (remove: [LoggedDeliveryHeader], summary: CompactionSummary)
    {
        var deciding = Set<Int64>()
        for table in CompactionRule.deciding where try db.tableExists(table) {
            let seqs = try Int64.fetchCursor(db, sql: "SELECT seq FROM \"\(table)\"")
            while let seq = try seqs.next() { deciding.insert(seq) }
        }
        let folded = try Int64.fetchOne(db, sql: "SELECT min(checkpoint) FROM projections") ?? 0
        var planner = CompactionPlanner(before: before, dryRun: dryRun, deciding: deciding)
        let rows = try Row.fetchCursor(db, sql: """
            SELECT seq, action, entity_type, entity_id, status = 'quarantined', received_at < ?, length(body)
            FROM events WHERE seq <= ?
            """, arguments: [before.description, folded])
        while let row = try rows.next() {
            planner.see(LoggedDeliveryHeader(
                seq: row[0], action: row[1], entityType: row[2], entityId: row[3], quarantined: row[4], old: row[5],
                bodyBytes: row[6]))
        }
        return planner.finish()
    }

    /// The seqs compactions removed; none in a database from before compaction existed.
    static func compactedSeqs(_ db: Database) throws -> CompactedSeqs {
        guard try db.tableExists("compacted_seqs") else { return CompactedSeqs() }
        return CompactedSeqs(try Row.fetchAll(db, sql: "SELECT first_seq, last_seq FROM compacted_seqs").map {
            (row: Row) -> ClosedRange<Int64> in (row[0] as Int64)...(row[1] as Int64)
        })
    }

    static func fileBytes(_ db: Database) throws -> Int {
        let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        return pages * (try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
    }

    static func freeBytes(_ db: Database) throws -> Int {
        let pages = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        return pages * (try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
    }
}
