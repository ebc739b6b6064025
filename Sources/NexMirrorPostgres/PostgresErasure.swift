import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// `forget` on PostgreSQL: the same rewrite as on SQLite (`BodyEraser` decides, the store only
/// reads and writes), fenced against receivers by the append lock on `log_head`, so a delivery
/// is either rewritten here or appended after the ledger names the subject, never missed.
extension PostgresStore: ErasingStore {
    private static let candidateColumns = "seq, action, entity_type, body, status, error, signature"

    public func forget(_ ids: [Int64], reason: String?, origin: ErasureOrigin, dryRun: Bool) async throws -> [SubjectErasure] {
        var reports: [SubjectErasure] = []
        for id in ids {
            reports.append(try await statement("erase coworker \(id)") {
                try await erase(id, reason: reason, origin: origin, dryRun: dryRun)
            })
        }
        if !dryRun, reports.contains(where: { $0.deliveryCount > 0 }) {
            // The rewritten rows' old versions stay in the heap and the indexes until a vacuum.
            let tables = ["events", "erasures"] + Projections.all.flatMap(\.ownedTables)
            try await statement("vacuum the tables the erasure touched") {
                try await client.query(PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) \(tables.joined(separator: ", "))"), logger: logger)
            }
        }
        return reports
    }

    private func erase(_ id: Int64, reason: String?, origin: ErasureOrigin, dryRun: Bool) async throws -> SubjectErasure {
        let logger = logger, now = Timestamp.now.description
        // Found without the lock first, so receivers wait only for what arrived since.
        let (scannedUpTo, found) = try await client.withConnection { connection in
            var last: Int64 = 0
            for try await seq in try await connection.query("SELECT last_seq FROM log_head", logger: logger).decode(Int64.self) {
                last = seq
            }
            let subjects = ErasurePlan.learn(subject: id, own: try await Self.ownDeliveries(of: id, on: connection, logger))
            return (last, try await Self.seqs(naming: subjects, after: 0, upTo: last, on: connection, logger))
        }
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL synchronous_commit = on", logger: logger)
            // The append lock: no receiver appends until this transaction ends.
            for try await _ in try await connection.query(
                "SELECT last_seq FROM log_head WHERE id = 1 FOR UPDATE", logger: logger
            ).decode(Int64.self) {}
            var report = SubjectErasure(coworkerId: id)
            report.alreadyErased = try await Self.exists(
                "SELECT EXISTS (SELECT 1 FROM erased_subjects WHERE coworker_id = \(id))", on: connection, logger)
            report.stillLive = try await Self.exists(
                "SELECT EXISTS (SELECT 1 FROM coworkers WHERE id = \(id))", on: connection, logger)

            let own = try await Self.ownDeliveries(of: id, on: connection, logger)
            let later = try await Self.seqs(
                naming: ErasurePlan.learn(subject: id, own: own), after: scannedUpTo, upTo: Int64.max, on: connection, logger)
            let wanted = Array(found.union(later).subtracting(own.map(\.seq)))
            let others = try await Self.candidates(
                "SELECT \(unescaped: Self.candidateColumns) FROM events WHERE seq = ANY(\(wanted)) ORDER BY seq", on: connection, logger)
            let plan = ErasurePlan(subject: id, own: own, others: others)
            report.deliveries = plan.deliveries
            let winners = try await Self.winners(plan.foldPlans, suffix: "", on: connection, logger)
            for winner in winners { report.rows[winner.projection.table, default: 0] += 1 }
            guard !dryRun else { return report }

            for rewrite in plan.rewrites {
                let seq = rewrite.delivery.seq
                try await connection.query(
                    "UPDATE events SET body = \(ByteBuffer(bytes: rewrite.erased.body)), error = \(rewrite.error) WHERE seq = \(seq)",
                    logger: logger)
                try await connection.query("""
                    INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason)
                    SELECT seq, body_sha256, \(rewrite.erased.sha256), \(now), \(reason) FROM events WHERE seq = \(seq)
                    ON CONFLICT (seq) DO UPDATE SET erased_sha256 = EXCLUDED.erased_sha256,
                        erased_at = EXCLUDED.erased_at, reason = EXCLUDED.reason
                    """, logger: logger)
            }
            // The rows those deliveries decide, refolded from the rewritten bodies: in the live
            // tables, and in a rebuild's `__next` copies (its swap must not bring the values back).
            let rewritten = Dictionary(plan.rewrites.map { ($0.delivery.seq, $0) }, uniquingKeysWith: { first, _ in first })
            for suffix in ["", "__next"] {
                let present = try await Self.exists(
                    "SELECT to_regclass(\("tombstones" + suffix)) IS NOT NULL", on: connection, logger)
                guard present else { continue }
                let decided = suffix.isEmpty ? winners : try await Self.winners(plan.foldPlans, suffix: suffix, on: connection, logger)
                try await Self.refold(decided, rewritten, suffix: suffix, on: connection, logger)
            }
            try await connection.query("""
                INSERT INTO erased_subjects (coworker_id, erased_at, reason, origin)
                VALUES (\(id), \(now), \(reason), \(origin.rawValue)) ON CONFLICT DO NOTHING
                """, logger: logger)
            return report
        }
    }

    private static func ownDeliveries(of id: Int64, on connection: PostgresConnection, _ logger: Logger) async throws
        -> [ErasureCandidate]
    {
        try await candidates(
            "SELECT \(unescaped: candidateColumns) FROM events WHERE entity_type = \(PersonalData.subjectKind) AND entity_id = \(id) ORDER BY seq",
            on: connection, logger)
    }

    private static func seqs(
        naming subjects: ErasureSubjects, after: Int64, upTo: Int64, on connection: PostgresConnection, _ logger: Logger
    ) async throws -> Set<Int64> {
        var found: Set<Int64> = []
        for try await seq in try await connection.query("""
            SELECT DISTINCT seq FROM events, unnest(\(ErasurePlan.needles(for: subjects).map { ByteBuffer(bytes: $0) })::bytea[]) AS needle
            WHERE seq > \(after) AND seq <= \(upTo) AND position(needle IN body) > 0
            """, logger: logger).decode(Int64.self) {
            found.insert(seq)
        }
        return found
    }

    private static func candidates(_ query: PostgresQuery, on connection: PostgresConnection, _ logger: Logger) async throws
        -> [ErasureCandidate]
    {
        var found: [ErasureCandidate] = []
        for try await (seq, action, entityType, body, status, error, signature) in try await connection.query(query, logger: logger)
            .decode((Int64, String, String?, ByteBuffer, String, String?, String?).self)
        {
            found.append(ErasureCandidate(
                seq: seq, action: action, entityType: entityType, body: Array(buffer: body), status: status, error: error,
                signature: signature))
        }
        return found
    }

    private static func exists(_ query: PostgresQuery, on connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        for try await value in try await connection.query(query, logger: logger).decode(Bool.self) { return value }
        return false
    }

    /// The plans whose delivery is its entity's row in the table now.
    private static func winners(
        _ plans: [FoldPlan], suffix: String, on connection: PostgresConnection, _ logger: Logger
    ) async throws -> [FoldPlan] {
        var winners: [FoldPlan] = []
        for plan in plans {
            let table = plan.projection.table + suffix
            let query: PostgresQuery = plan.projection.keyedByEntityType
                ? "SELECT seq FROM \(unescaped: table) WHERE entity_type = \(plan.entityType) AND id = \(plan.entityId)"
                : "SELECT seq FROM \(unescaped: table) WHERE id = \(plan.entityId)"
            for try await seq in try await connection.query(query, logger: logger).decode(Int64.self) where seq == plan.version.seq {
                winners.append(plan)
            }
        }
        return winners
    }

    /// Deletes each decided row and folds its rewritten delivery again: the same decision, now
    /// from the erased body.
    private static func refold(
        _ decided: [FoldPlan], _ rewritten: [Int64: ErasurePlan.Rewrite], suffix: String,
        on connection: PostgresConnection, _ logger: Logger
    ) async throws {
        guard !decided.isEmpty else { return }
        for plan in decided {
            let table = plan.projection.table + suffix
            let query: PostgresQuery = plan.projection.keyedByEntityType
                ? "DELETE FROM \(unescaped: table) WHERE entity_type = \(plan.entityType) AND id = \(plan.entityId)"
                : "DELETE FROM \(unescaped: table) WHERE id = \(plan.entityId)"
            try await connection.query(query, logger: logger)
        }
        let events = decided.compactMap { rewritten[$0.version.seq] }.map { rewrite in
            let delivery = rewrite.delivery
            return LoggedEvent(
                seq: delivery.seq, action: delivery.action, entityType: delivery.entityType, body: rewrite.erased.body,
                status: delivery.status, signature: delivery.signature)
        }
        try await PGBatchFolder(connection: connection, logger: logger, suffix: suffix).fold(events)
    }

    public func erasureLedger() async throws -> [ErasedSubject] {
        try await statement("read the erasure ledger") {
            var entries: [ErasedSubject] = []
            for try await (id, at, reason, origin) in try await client.query(
                "SELECT coworker_id, erased_at, reason, origin FROM erased_subjects ORDER BY erased_at, coworker_id"
            ).decode((Int64, String, String?, String).self) {
                entries.append(ErasedSubject(coworkerId: id, erasedAt: at, reason: reason, origin: ErasureOrigin(rawValue: origin) ?? .forget))
            }
            return entries
        }
    }

    static let deletedCoworkers = """
        SELECT t.id FROM tombstones t JOIN events e ON e.seq = t.seq
        WHERE t.entity_type = 'Coworker' AND NOT EXISTS (SELECT 1 FROM erased_subjects s WHERE s.coworker_id = t.id)
        """

    public func erasableDeletedCoworkers(deletedBefore: Timestamp) async throws -> [Int64] {
        try await statement("find deleted coworkers to erase") {
            var ids: [Int64] = []
            for try await id in try await client.query(
                "\(unescaped: Self.deletedCoworkers) AND e.received_at < \(deletedBefore.description) ORDER BY t.id"
            ).decode(Int64.self) {
                ids.append(id)
            }
            return ids
        }
    }

    public func erasureFigures(deletedBefore: Timestamp?) async throws -> ErasureFigures {
        try await statement("count erasures") {
            var figures = ErasureFigures()
            let due = deletedBefore?.description ?? ""
            for try await (subjects, deliveries, pending, dueCount) in try await client.query("""
                SELECT (SELECT count(*) FROM erased_subjects), (SELECT count(*) FROM erasures),
                       (SELECT count(*) FROM (\(unescaped: Self.deletedCoworkers)) p),
                       (SELECT count(*) FROM (\(unescaped: Self.deletedCoworkers) AND e.received_at < \(due)) d)
                """).decode((Int64, Int64, Int64, Int64).self) {
                figures.subjectsErased = Int(subjects)
                figures.deliveriesErased = Int(deliveries)
                figures.pending = Int(pending)
                figures.due = deletedBefore == nil ? 0 : Int(dueCount)
            }
            return figures
        }
    }
}
