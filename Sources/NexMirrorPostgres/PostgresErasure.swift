import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// `forget` on PostgreSQL: the same rewrite as on SQLite (`BodyEraser` decides, the store only
/// reads and writes), fenced against receivers by the append lock on `log_head`, so a delivery
/// is either rewritten here or appended after the ledger names the subject, never missed.
extension PostgresStore: SQLErasureLedger {
    public func erasureExecutor(doing: String) -> any SQLExecutor { describedExecutor(doing: doing) }

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
            _ = try await statement("vacuum the tables the erasure touched") {
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
            let state = try await PostgresExecutor.run(ErasureStatements.subjectState(of: id, .postgreSQL), on: connection, logger: logger)
            report.alreadyErased = state[0].first?.first == .integer(1)
            report.stillLive = state[1].first?.first == .integer(1)

            let own = try await Self.ownDeliveries(of: id, on: connection, logger)
            let later = try await Self.seqs(
                naming: ErasurePlan.learn(subject: id, own: own), after: scannedUpTo, upTo: Int64.max, on: connection, logger)
            let wanted = found.union(later).subtracting(own.map(\.seq)).sorted()
            let others = try await PostgresExecutor.run(ErasureStatements.deliveries(wanted, .postgreSQL), on: connection, logger: logger)
                .joined().compactMap(ErasureStatements.candidate)
            let plan = ErasurePlan(subject: id, own: own, others: others)
            report.deliveries = plan.deliveries
            let winners = try await Self.winners(plan.foldPlans, suffix: "", on: connection, logger)
            for winner in winners { report.rows[winner.projection.table, default: 0] += 1 }
            guard !dryRun else { return report }

            for rewrite in plan.rewrites {
                _ = try await PostgresExecutor.run(
                    ErasureStatements.rewrite(rewrite, at: now, reason: reason, .postgreSQL), on: connection, logger: logger)
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
            _ = try await PostgresExecutor.run(
                ErasureStatements.recordSubject(id, at: now, reason: reason, origin: origin, .postgreSQL), on: connection, logger: logger)
            return report
        }
    }

    private static func ownDeliveries(of id: Int64, on connection: PostgresConnection, _ logger: Logger) async throws
        -> [ErasureCandidate]
    {
        try await PostgresExecutor.run(ErasureStatements.ownDeliveries(of: id, .postgreSQL), on: connection, logger: logger)
            .compactMap(ErasureStatements.candidate)
    }

    private static func seqs(
        naming subjects: ErasureSubjects, after: Int64, upTo: Int64, on connection: PostgresConnection, _ logger: Logger
    ) async throws -> Set<Int64> {
        let statement = ErasureStatements.seqs(naming: subjects, after: after, upTo: upTo, .postgreSQL)
        return Set(try await PostgresExecutor.run(statement, on: connection, logger: logger).compactMap { row in
            if case .integer(let seq) = row[0] { seq } else { nil }
        })
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
            let seq = try await PostgresExecutor.run(
                ErasureStatements.decidingSeq(plan, suffix: suffix, .postgreSQL), on: connection, logger: logger)
            if seq.first?.first == .integer(plan.version.seq) { winners.append(plan) }
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
            _ = try await PostgresExecutor.run(ErasureStatements.deleteRow(plan, suffix: suffix, .postgreSQL), on: connection, logger: logger)
        }
        let events = decided.compactMap { rewritten[$0.version.seq] }.map { rewrite in
            let delivery = rewrite.delivery
            return LoggedEvent(
                seq: delivery.seq, action: delivery.action, entityType: delivery.entityType, body: rewrite.erased.body,
                status: delivery.status, signature: delivery.signature)
        }
        try await PGBatchFolder(connection: connection, logger: logger, suffix: suffix).fold(events)
    }
}
