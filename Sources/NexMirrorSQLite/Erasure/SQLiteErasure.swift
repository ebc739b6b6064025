import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore

/// Erases one subject inside the caller's write transaction: rewrites its deliveries in place
/// (same `seq`, action, times and ids; `body_sha256` stays the original, the idempotency key),
/// records each rewrite, refolds the replica rows those deliveries decide, and adds the subject
/// to the ledger.
struct SQLiteErasure {
    let db: Database
    let now: String

    /// A logged delivery that may hold the subject's data.
    private struct Candidate {
        let seq: Int64
        let action: String
        let entityType: String?
        let body: [UInt8]
        let status: String
        let error: String?
        let signature: String?

        static let columns = "seq, action, entity_type, body, status, error, signature"

        init(row: Row) {
            seq = row[0]
            action = row[1]
            entityType = row[2]
            body = [UInt8](row[3] as Data)
            status = row[4]
            error = row[5]
            signature = row[6]
        }

        var kind: String { entityType ?? action }
    }

    /// The deliveries that may name the subject, found in a read transaction before the write
    /// one, so the single writer (and the receivers queued behind it) waits only for what
    /// arrived since: the last seq scanned and the seqs found.
    static func prescan(_ id: Int64, in db: Database) throws -> (upTo: Int64, seqs: Set<Int64>) {
        let erasure = SQLiteErasure(db: db, now: "")
        let upTo = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events") ?? 0
        let (_, subjects) = try erasure.ownDeliveries(of: id)
        return (upTo, try erasure.seqs(naming: id, subjects, after: 0, upTo: upTo))
    }

    /// The subject's own Coworker deliveries, and what erasing them teaches about its values.
    private func ownDeliveries(of id: Int64) throws -> ([Candidate], ErasureSubjects) {
        let own = try Row.fetchAll(
            db, sql: "SELECT \(Candidate.columns) FROM events WHERE entity_type = ? AND entity_id = ? ORDER BY seq",
            arguments: [PersonalData.subjectKind, id]
        ).map(Candidate.init)
        var subjects = ErasureSubjects(ids: [id])
        for candidate in own {
            if let erased = erase(candidate, subjects) { subjects.learn(from: erased) }
        }
        return (own, subjects)
    }

    /// Deliveries whose body holds the id's digits or one of the subject's identifying values;
    /// the eraser decides which of them really refer to it.
    private func seqs(naming id: Int64, _ subjects: ErasureSubjects, after: Int64, upTo: Int64) throws -> Set<Int64> {
        let needles = [String(id)] + subjects.identifying.filter { $0.utf8.count >= PersonalData.shortestSearchedValue }.sorted()
        return try Set(Int64.fetchAll(
            db,
            sql: "SELECT seq FROM events WHERE seq > ? AND seq <= ? AND ("
                + needles.map { _ in "instr(body, ?) > 0" }.joined(separator: " OR ") + ")",
            arguments: StatementArguments([after, upTo] as [any DatabaseValueConvertible] + needles.map { Data($0.utf8) })))
    }

    func erase(
        _ id: Int64, reason: String?, origin: ErasureOrigin, dryRun: Bool, prescanned: (upTo: Int64, seqs: Set<Int64>)
    ) throws -> SubjectErasure {
        var report = SubjectErasure(coworkerId: id)
        report.alreadyErased = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM erased_subjects WHERE coworker_id = ?)", arguments: [id]) ?? false
        report.stillLive = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM coworkers WHERE id = ?)", arguments: [id]) ?? false

        // Its own deliveries first: they give the values to look for in the others.
        var (own, subjects) = try ownDeliveries(of: id)
        let later = try seqs(naming: id, subjects, after: prescanned.upTo, upTo: Int64.max)
        let ownSeqs = Set(own.map(\.seq))
        let wanted = prescanned.seqs.union(later).subtracting(ownSeqs).sorted()
        var others: [Candidate] = []
        for chunk in stride(from: 0, to: wanted.count, by: 500).map({ Array(wanted[$0..<min($0 + 500, wanted.count)]) }) {
            others += try Row.fetchAll(
                db, sql: "SELECT \(Candidate.columns) FROM events WHERE seq IN (\(chunk.map { _ in "?" }.joined(separator: ", ")))",
                arguments: StatementArguments(chunk)
            ).map(Candidate.init)
        }
        others.sort { $0.seq < $1.seq }
        for candidate in others {
            if let erased = erase(candidate, subjects) { subjects.learn(from: erased) }
        }
        own = own.sorted { $0.seq < $1.seq }

        var rewritten: [(Candidate, ErasedBody)] = []
        for candidate in own + others {
            guard let erased = erase(candidate, subjects) else { continue }
            rewritten.append((candidate, erased))
            report.deliveries[candidate.kind, default: 0] += 1
        }
        guard !dryRun else {
            report.rows = try rowsDecidedBy(rewritten.map(\.0))
            return report
        }
        let masked = subjects.values.union(subjects.identifying)
        for (candidate, erased) in rewritten {
            let error = candidate.error.map { String(decoding: BodyEraser.maskOccurrences(Array($0.utf8), of: masked), as: UTF8.self) }
            try db.execute(
                sql: "UPDATE events SET body = ?, error = ? WHERE seq = ?",
                arguments: [Data(erased.body), error, candidate.seq])
            try db.execute(
                sql: """
                    INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason)
                    SELECT seq, body_sha256, ?, ?, ? FROM events WHERE seq = ?
                    ON CONFLICT (seq) DO UPDATE SET erased_sha256 = excluded.erased_sha256,
                        erased_at = excluded.erased_at, reason = excluded.reason
                    """,
                arguments: [erased.sha256, now, reason, candidate.seq])
        }
        report.rows = try refold(rewritten.map { ($0.0, $0.1.body) })
        try db.execute(
            sql: "INSERT INTO erased_subjects (coworker_id, erased_at, reason, origin) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [id, now, reason, origin.rawValue])
        return report
    }

    private func erase(_ candidate: Candidate, _ subjects: ErasureSubjects) -> ErasedBody? {
        guard let action = ActionCatalog.action(named: candidate.action) else { return nil }
        return BodyEraser.erase(candidate.body, action: action, entityType: candidate.entityType, subjects: subjects)
    }

    /// Replica rows whose winning delivery is one of these, per table.
    private func rowsDecidedBy(_ candidates: [Candidate]) throws -> [String: Int] {
        var rows: [String: Int] = [:]
        for candidate in candidates {
            guard let plan = plan(candidate, candidate.body), try decides(plan, suffix: "") else { continue }
            rows[plan.projection.table, default: 0] += 1
        }
        return rows
    }

    private func plan(_ candidate: Candidate, _ body: [UInt8]) -> FoldPlan? {
        guard case .fold(let plan) = FoldPreparation.of(
            seq: candidate.seq, action: candidate.action, entityType: candidate.entityType, body: body,
            status: candidate.status, signature: candidate.signature)
        else { return nil }
        return plan
    }

    /// Whether the delivery is its entity's row in the table (by key, not by a scan of `seq`).
    private func decides(_ plan: FoldPlan, suffix: String) throws -> Bool {
        let projection = plan.projection
        let table = projection.table + suffix
        let key = projection.keyedByEntityType ? "id = ? AND entity_type = ?" : "id = ?"
        let arguments: StatementArguments = projection.keyedByEntityType ? [plan.entityId, plan.entityType] : [plan.entityId]
        return try Int64.fetchOne(db, sql: "SELECT seq FROM \(table) WHERE \(key)", arguments: arguments) == plan.version.seq
    }

    /// Re-projects each row whose winning delivery was rewritten, in the live tables and in
    /// the copies of a rebuild running in another process (its swap must not bring the old
    /// values back). The rule's decision cannot change: versions and times are kept.
    private func refold(_ rewritten: [(Candidate, [UInt8])]) throws -> [String: Int] {
        var rows: [String: Int] = [:]
        let suffixes = try ["", ReplicaFolder.rebuildSuffix].filter { suffix in
            try suffix.isEmpty || db.tableExists("tombstones" + suffix)
        }
        for (candidate, body) in rewritten {
            guard let plan = plan(candidate, body) else { continue }
            for suffix in suffixes {
                guard try db.tableExists(plan.projection.table + suffix), try decides(plan, suffix: suffix) else { continue }
                let projection = plan.projection
                let key = projection.keyedByEntityType ? "id = ? AND entity_type = ?" : "id = ?"
                let arguments: StatementArguments = projection.keyedByEntityType ? [plan.entityId, plan.entityType] : [plan.entityId]
                try db.execute(sql: "DELETE FROM \(projection.table + suffix) WHERE \(key)", arguments: arguments)
                try ReplicaFolder(db: db, suffix: suffix, selected: nil).apply(plan, history: false)
                if suffix.isEmpty { rows[projection.table, default: 0] += 1 }
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
