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

    private func run(_ statements: [SQLStatement]) throws -> [[[Cell]]] { try SQLiteExecutor.run(statements, in: db) }

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
        try run([ErasureStatements.ownDeliveries(of: id, .sqlite)])[0].compactMap(ErasureStatements.candidate)
    }

    private func seqs(naming subjects: ErasureSubjects, after: Int64, upTo: Int64) throws -> Set<Int64> {
        Set(try run([ErasureStatements.seqs(naming: subjects, after: after, upTo: upTo, .sqlite)])[0].compactMap { row in
            if case .integer(let seq) = row[0] { seq } else { nil }
        })
    }

    func erase(
        _ id: Int64, reason: String?, origin: ErasureOrigin, dryRun: Bool, prescanned: (upTo: Int64, seqs: Set<Int64>)
    ) throws -> SubjectErasure {
        var report = SubjectErasure(coworkerId: id)
        let state = try run(ErasureStatements.subjectState(of: id, .sqlite))
        report.alreadyErased = state[0].first?.first == .integer(1)
        report.stillLive = state[1].first?.first == .integer(1)

        let own = try ownDeliveries(of: id)
        let later = try seqs(naming: ErasurePlan.learn(subject: id, own: own), after: prescanned.upTo, upTo: Int64.max)
        let wanted = prescanned.seqs.union(later).subtracting(own.map(\.seq)).sorted()
        let others = try run(ErasureStatements.deliveries(wanted, .sqlite)).joined().compactMap(ErasureStatements.candidate)
        let plan = ErasurePlan(subject: id, own: own, others: others.sorted { $0.seq < $1.seq })
        report.deliveries = plan.deliveries
        guard !dryRun else {
            for fold in plan.foldPlans where try decides(fold, suffix: "") { report.rows[fold.projection.table, default: 0] += 1 }
            return report
        }
        for rewrite in plan.rewrites {
            _ = try run(ErasureStatements.rewrite(rewrite, at: now, reason: reason, .sqlite))
        }
        report.rows = try refold(plan.foldPlans)
        _ = try run([ErasureStatements.recordSubject(id, at: now, reason: reason, origin: origin, .sqlite)])
        return report
    }

    /// Whether the delivery is its entity's row in the table (by key, not by a scan of `seq`).
    private func decides(_ plan: FoldPlan, suffix: String) throws -> Bool {
        try run([ErasureStatements.decidingSeq(plan, suffix: suffix, .sqlite)])[0].first?.first == .integer(plan.version.seq)
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
                _ = try run([ErasureStatements.deleteRow(plan, suffix: suffix, .sqlite)])
                try ReplicaFolder(db: db, suffix: suffix, selected: nil).apply(plan, history: false)
                if suffix.isEmpty { rows[plan.projection.table, default: 0] += 1 }
            }
        }
        return rows
    }
}

extension SQLiteStore: SQLErasureLedger {
    public func erasureExecutor(doing: String) -> any SQLExecutor { SQLiteExecutor(pool) }

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
}
