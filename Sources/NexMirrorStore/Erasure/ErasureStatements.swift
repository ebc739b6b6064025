import Foundation
import NexMirrorCore

/// The statements of an erasure, the same on every backend: what it reads of the log and the
/// replica, and what it writes to the log and the ledger. A backend runs them inside its own
/// transaction, behind its own lock (SQLite's writer, PostgreSQL's `log_head`), and refolds.
public enum ErasureStatements {
    /// Coworkers whose delete won (a tombstone) and who are not in the ledger (automatic
    /// erasure's candidates, and `status`'s pending count); `received_at` of the delete is when
    /// it reached the log, a moment before it was folded.
    public static let deletedCoworkers = """
        SELECT t.id FROM tombstones t JOIN events e ON e.seq = t.seq
        WHERE t.entity_type = '\(PersonalData.subjectKind)'
          AND NOT EXISTS (SELECT 1 FROM erased_subjects s WHERE s.coworker_id = t.id)
        """

    /// The columns an `ErasureCandidate` is read from, in order.
    static let candidateColumns = "seq, action, entity_type, body, status, error, signature"

    /// The subject's own deliveries (they give the values to look for elsewhere), in log order.
    public static func ownDeliveries(of id: Int64, _ dialect: SQLDialect) -> SQLStatement {
        SQLStatement(
            "SELECT \(candidateColumns) FROM events WHERE entity_type = \(dialect.parameter(1)) AND entity_id = \(dialect.parameter(2)) ORDER BY seq",
            [.text(PersonalData.subjectKind), .integer(id)])
    }

    /// The deliveries of `seqs`, in log order, a few hundred per statement.
    public static func deliveries(_ seqs: [Int64], _ dialect: SQLDialect) -> [SQLStatement] {
        stride(from: 0, to: seqs.count, by: 500).map { start in
            let chunk = seqs[start..<min(start + 500, seqs.count)]
            let list = chunk.indices.map { dialect.parameter($0 - start + 1) }.joined(separator: ", ")
            return SQLStatement(
                "SELECT \(candidateColumns) FROM events WHERE seq IN (\(list)) ORDER BY seq", chunk.map(Cell.integer))
        }
    }

    /// A row of `ownDeliveries` or `deliveries`.
    public static func candidate(_ row: [Cell]) -> ErasureCandidate? {
        guard case .integer(let seq) = row[0], case .text(let action) = row[1], case .text(let status) = row[4] else { return nil }
        let body: [UInt8]
        switch row[3] {
        case .blob(let data): body = [UInt8](data)
        case .text(let text): body = Array(text.utf8)
        default: return nil
        }
        return ErasureCandidate(
            seq: seq, action: action, entityType: text(row[2]), body: body, status: status, error: text(row[5]),
            signature: text(row[6]))
    }

    /// The seqs in (`after`, `upTo`] whose body holds one of the subjects' needles.
    public static func seqs(naming subjects: ErasureSubjects, after: Int64, upTo: Int64, _ dialect: SQLDialect) -> SQLStatement {
        let needles = ErasurePlan.needles(for: subjects)
        let p = dialect.parameter
        let matches = needles.indices.map { dialect.contains("body", p($0 + 3)) }.joined(separator: " OR ")
        return SQLStatement(
            "SELECT seq FROM events WHERE seq > \(p(1)) AND seq <= \(p(2)) AND (\(matches))",
            [.integer(after), .integer(upTo)] + needles.map { .blob(Data($0)) })
    }

    /// Whether the subject is in the ledger already, and whether it still has a replica row.
    public static func subjectState(of id: Int64, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter(1)
        return [
            SQLStatement("SELECT EXISTS (SELECT 1 FROM erased_subjects WHERE coworker_id = \(p))", [.integer(id)]),
            SQLStatement("SELECT EXISTS (SELECT 1 FROM coworkers WHERE id = \(p))", [.integer(id)]),
        ]
    }

    /// The seq of the row `plan`'s entity has in its table (`suffix`: a rebuild's copy); the
    /// delivery decides that row when it is the plan's own seq.
    public static func decidingSeq(_ plan: FoldPlan, suffix: String, _ dialect: SQLDialect) -> SQLStatement {
        let (predicate, arguments) = key(plan, dialect)
        return SQLStatement("SELECT seq FROM \(plan.projection.table + suffix) WHERE \(predicate)", arguments)
    }

    /// Removes the row of `plan`'s entity, before it is folded again from the rewritten body.
    public static func deleteRow(_ plan: FoldPlan, suffix: String, _ dialect: SQLDialect) -> SQLStatement {
        let (predicate, arguments) = key(plan, dialect)
        return SQLStatement("DELETE FROM \(plan.projection.table + suffix) WHERE \(predicate)", arguments)
    }

    /// A delivery rewritten in place (same `seq`, action, times and ids; `body_sha256` stays the
    /// original, the idempotency key), and the rewrite recorded in `erasures`.
    public static func rewrite(_ rewrite: ErasurePlan.Rewrite, at now: String, reason: String?, _ dialect: SQLDialect)
        -> [SQLStatement]
    {
        let p = dialect.parameter
        let seq = Cell.integer(rewrite.delivery.seq)
        return [
            SQLStatement(
                "UPDATE events SET body = \(p(1)), error = \(p(2)) WHERE seq = \(p(3))",
                [.blob(Data(rewrite.erased.body)), rewrite.error.map(Cell.text) ?? .null, seq]),
            SQLStatement("""
                INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason)
                SELECT seq, body_sha256, \(p(1)), \(p(2)), \(p(3)) FROM events WHERE seq = \(p(4))
                ON CONFLICT (seq) DO UPDATE SET erased_sha256 = excluded.erased_sha256,
                    erased_at = excluded.erased_at, reason = excluded.reason
                """, [.text(rewrite.erased.sha256), .text(now), reason.map(Cell.text) ?? .null, seq]),
        ]
    }

    /// The subject added to the ledger; its first erasure's time and reason stay.
    public static func recordSubject(
        _ id: Int64, at now: String, reason: String?, origin: ErasureOrigin, _ dialect: SQLDialect
    ) -> SQLStatement {
        let p = dialect.parameter
        return SQLStatement(
            "INSERT INTO erased_subjects (coworker_id, erased_at, reason, origin) VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4))) ON CONFLICT DO NOTHING",
            [.integer(id), .text(now), reason.map(Cell.text) ?? .null, .text(origin.rawValue)])
    }

    private static func key(_ plan: FoldPlan, _ dialect: SQLDialect) -> (String, [Cell]) {
        plan.projection.keyedByEntityType
            ? ("id = \(dialect.parameter(1)) AND entity_type = \(dialect.parameter(2))", [.integer(plan.entityId), .text(plan.entityType)])
            : ("id = \(dialect.parameter(1))", [.integer(plan.entityId)])
    }

    static func text(_ cell: Cell) -> String? {
        if case .text(let text) = cell { text } else { nil }
    }
}
