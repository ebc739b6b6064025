import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore

/// Erases one subject inside the caller's write transaction (what to rewrite is the shared
/// `ErasurePlan`'s decision): rewrites its deliveries in place
/// (same `seq`, action, times and ids; `body_sha256` stays the original, the idempotency key),
/// records each rewrite, refolds the replica rows those deliveries decide, and adds the subject
/// to the ledger.
struct SQLiteErasure {
    let db: Database
    let now: String

    private static let columns = "seq, action, entity_type, body, status, error, signature"

    private static func delivery(_ row: Row) -> ErasureCandidate {
        ErasureCandidate(
            seq: row[0], action: row[1], entityType: row[2], body: [UInt8](row[3] as Data), status: row[4], error: row[5],
            signature: row[6])
    }

    /// The deliveries that may name the subject, found in a read transaction before the write
    /// one, so the single writer (and the receivers queued behind it) waits only for what
    /// arrived since: the last seq scanned and the seqs found.
    static func prescan(_ id: Int64, in db: Database) throws -> (upTo: Int64, seqs: Set<Int64>) {
        let erasure = SQLiteErasure(db: db, now: "")
        let upTo = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events") ?? 0
        let subjects = ErasurePlan.learn(subject: id, own: try erasure.ownDeliveries(of: id))
        return (upTo, try erasure.seqs(naming: subjects, after: 0, upTo: upTo))
    }

    private func ownDeliveries(of id: Int64) throws -> [ErasureCandidate] {
        try Row.fetchAll(
            db, sql: "SELECT \(Self.columns) FROM events WHERE entity_type = ? AND entity_id = ? ORDER BY seq",
            arguments: [PersonalData.subjectKind, id]
        ).map(Self.delivery)
    }

    private func seqs(naming subjects: ErasureSubjects, after: Int64, upTo: Int64) throws -> Set<Int64> {
        let needles = ErasurePlan.needles(for: subjects)
        return try Set(Int64.fetchAll(
            db,
            sql: "SELECT seq FROM events WHERE seq > ? AND seq <= ? AND ("
                + needles.map { _ in "instr(body, ?) > 0" }.joined(separator: " OR ") + ")",
            arguments: StatementArguments([after, upTo] as [any DatabaseValueConvertible] + needles.map { Data($0) })))
    }

    func erase(
        _ id: Int64, reason: String?, origin: ErasureOrigin, dryRun: Bool, prescanned: (upTo: Int64, seqs: Set<Int64>)
    ) throws -> SubjectErasure {
        var report = SubjectErasure(coworkerId: id)
        report.alreadyErased = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM erased_subjects WHERE coworker_id = ?)", arguments: [id]) ?? false
        report.stillLive = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM coworkers WHERE id = ?)", arguments: [id]) ?? false

        let own = try ownDeliveries(of: id)
        let later = try seqs(naming: ErasurePlan.learn(subject: id, own: own), after: prescanned.upTo, upTo: Int64.max)
        let wanted = prescanned.seqs.union(later).subtracting(own.map(\.seq)).sorted()
        var others: [ErasureCandidate] = []
        for start in stride(from: 0, to: wanted.count, by: 500) {
            let chunk = Array(wanted[start..<min(start + 500, wanted.count)])
            others += try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM events WHERE seq IN (\(chunk.map { _ in "?" }.joined(separator: ", "))) ORDER BY seq",
                arguments: StatementArguments(chunk)
            ).map(Self.delivery)
        }
        let plan = ErasurePlan(subject: id, own: own, others: others.sorted { $0.seq < $1.seq })
        report.deliveries = plan.deliveries
        guard !dryRun else {
            for fold in plan.foldPlans where try decides(fold, suffix: "") { report.rows[fold.projection.table, default: 0] += 1 }
            return report
        }
        for rewrite in plan.rewrites {
            try db.execute(
                sql: "UPDATE events SET body = ?, error = ? WHERE seq = ?",
                arguments: [Data(rewrite.erased.body), rewrite.error, rewrite.delivery.seq])
            try db.execute(
                sql: """
                    INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason)
                    SELECT seq, body_sha256, ?, ?, ? FROM events WHERE seq = ?
                    ON CONFLICT (seq) DO UPDATE SET erased_sha256 = excluded.erased_sha256,
                        erased_at = excluded.erased_at, reason = excluded.reason
                    """,
                arguments: [rewrite.erased.sha256, now, reason, rewrite.delivery.seq])
        }
        report.rows = try refold(plan.foldPlans)
        try db.execute(
            sql: "INSERT INTO erased_subjects (coworker_id, erased_at, reason, origin) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [id, now, reason, origin.rawValue])
        return report
    }

    private func key(_ plan: FoldPlan) -> (String, StatementArguments) {
        plan.projection.keyedByEntityType
            ? ("id = ? AND entity_type = ?", [plan.entityId, plan.entityType]) : ("id = ?", [plan.entityId])
    }

    /// Whether the delivery is its entity's row in the table (by key, not by a scan of `seq`).
    private func decides(_ plan: FoldPlan, suffix: String) throws -> Bool {
        let (predicate, arguments) = key(plan)
        return try Int64.fetchOne(
            db, sql: "SELECT seq FROM \(plan.projection.table + suffix) WHERE \(predicate)", arguments: arguments
        ) == plan.version.seq
    }

    /// Re-projects each row whose winning delivery was rewritten, in the live tables and in
    /// the copies of a rebuild running in another process (its swap must not bring the old
    /// values back). The rule's decision cannot change: versions and times are kept.
    private func refold(_ plans: [FoldPlan]) throws -> [String: Int] {
        var rows: [String: Int] = [:]
        let suffixes = try ["", ReplicaFolder.rebuildSuffix].filter { suffix in
            try suffix.isEmpty || db.tableExists("tombstones" + suffix)
        }
        for plan in plans {
            for suffix in suffixes {
                let table = plan.projection.table + suffix
                guard try db.tableExists(table), try decides(plan, suffix: suffix) else { continue }
                let (predicate, arguments) = key(plan)
                try db.execute(sql: "DELETE FROM \(table) WHERE \(predicate)", arguments: arguments)
                try ReplicaFolder(db: db, suffix: suffix, selected: nil).apply(plan, history: false)
                if suffix.isEmpty { rows[plan.projection.table, default: 0] += 1 }
            }
        }
        return rows
    }
}

extension SQLiteStore: ErasingStore {
    public func forget(_ ids: [Int64], reason: String?, origin: ErasureOrigin, dryRun: Bool) async throws -> [SubjectErasure] {
        let now = Timestamp.now.description
        let prescanned = try await pool.read { db in
            try Dictionary(ids.map { ($0, try SQLiteErasure.prescan($0, in: db)) }, uniquingKeysWith: { first, _ in first })
        }
        let reports = try await pool.writeWithoutTransaction { db in
            // The rewritten bodies are the log: this commit is fsynced like an append.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            var reports: [SubjectErasure] = []
            try db.inTransaction(.immediate) {
                let erasure = SQLiteErasure(db: db, now: now)
                reports = try ids.map {
                    try erasure.erase($0, reason: reason, origin: origin, dryRun: dryRun, prescanned: prescanned[$0]!)
                }
                return dryRun ? .rollback : .commit
            }
            return reports
        }
        if !dryRun { try await removeFreedBytes() }
        return reports
    }

    /// After an erasure, no byte of an erased value may stay in the files: secure delete zeroed
    /// what the rewrite freed; a database written before secure delete was on is rewritten once
    /// (VACUUM) to reach what was freed earlier; the WAL, which still holds the old pages, is
    /// checkpointed and truncated to zero bytes.
    public func removeFreedBytes() async throws {
        let clean = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM store_facts WHERE name = 'secure_delete_since'") != nil
        }
        if !clean {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                try db.execute(
                    sql: "INSERT OR REPLACE INTO store_facts (name, value) VALUES ('secure_delete_since', ?)",
                    arguments: [Timestamp.now.description])
            }
        }
        try await truncateWAL()
    }

    /// Copies the WAL into the database and truncates it, waiting for readers of older
    /// snapshots (a running `serve`'s dashboard or status) to finish.
    func truncateWAL() async throws {
        var attempt = 0
        while true {
            let done = try await pool.writeWithoutTransaction { db -> Bool in
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                return (row?[0] as Int?) == 0
            }
            if done { return }
            attempt += 1
            guard attempt < 100 else { throw StoreError.unavailable("the WAL could not be truncated: readers kept it busy for 10 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func erasureLedger() async throws -> [ErasedSubject] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT coworker_id, erased_at, reason, origin FROM erased_subjects ORDER BY erased_at, coworker_id")
                .map { row in
                    ErasedSubject(
                        coworkerId: row[0], erasedAt: row[1], reason: row[2],
                        origin: ErasureOrigin(rawValue: row[3]) ?? .forget)
                }
        }
    }

    public func erasableDeletedCoworkers(deletedBefore: Timestamp) async throws -> [Int64] {
        try await pool.read { db in
            try Int64.fetchAll(db, sql: Self.deletedCoworkers + " AND e.received_at < ? ORDER BY t.id",
                               arguments: [deletedBefore.description])
        }
    }

    public func erasureFigures(deletedBefore: Timestamp?) async throws -> ErasureFigures {
        try await pool.read { db in
            var figures = ErasureFigures()
            figures.subjectsErased = try Int.fetchOne(db, sql: "SELECT count(*) FROM erased_subjects") ?? 0
            figures.deliveriesErased = try Int.fetchOne(db, sql: "SELECT count(*) FROM erasures") ?? 0
            figures.pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(Self.deletedCoworkers))") ?? 0
            if let deletedBefore {
                figures.due = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM (\(Self.deletedCoworkers) AND e.received_at < ?)",
                    arguments: [deletedBefore.description]) ?? 0
            }
            return figures
        }
    }

    /// Coworkers whose delete won (a tombstone) and who are not in the ledger; `received_at`
    /// of the delete is when it reached the log, a moment before it was folded.
    static let deletedCoworkers = """
        SELECT t.id FROM tombstones t JOIN events e ON e.seq = t.seq
        WHERE t.entity_type = 'Coworker' AND t.id NOT IN (SELECT coworker_id FROM erased_subjects)
        """
}
