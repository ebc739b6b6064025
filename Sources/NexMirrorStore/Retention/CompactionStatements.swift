import NexMirrorCore

/// What `compact` writes, the same on every backend: the run in `compactions`, then per batch
/// the deliveries removed, their seqs recorded in `compacted_seqs` and the run's totals, in one
/// transaction. A backend plans, locks, zeroes and vacuums its own way.
public enum CompactionStatements {
    /// Values per statement, within SQLite's oldest limit on parameters (999).
    static let perStatement = 500

    /// The run recorded before anything is removed; the second statement reads its id back
    /// (`id(_:)`).
    public static func begin(before: Timestamp, kinds: String, at now: Timestamp, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter
        return [
            SQLStatement(
                "INSERT INTO compactions (compacted_at, before, removed, body_bytes, kinds) VALUES (\(p(1)), \(p(2)), 0, 0, \(p(3)))",
                [.text(now.description), .text(before.description), .text(kinds)]),
            SQLStatement(dialect.lastInsertedKey),
        ]
    }

    /// The run's id, from the results of `begin`.
    public static func id(_ results: [[[Cell]]]) -> Int64? {
        if case .integer(let id) = results.last?.first?.first { id } else { nil }
    }

    /// One batch of `compaction`: its deliveries deleted, their seqs recorded as runs of
    /// consecutive seqs, and the run's totals updated.
    public static func remove(
        _ batch: [LoggedDeliveryHeader], compaction: Int64, at now: Timestamp, _ dialect: SQLDialect
    ) -> [SQLStatement] {
        let p = dialect.parameter
        let seqs = batch.map(\.seq)
        let deletes = stride(from: 0, to: seqs.count, by: perStatement).map { start in
            let chunk = seqs[start..<min(start + perStatement, seqs.count)]
            let list = (1...chunk.count).map(p).joined(separator: ", ")
            return SQLStatement("DELETE FROM events WHERE seq IN (\(list))", chunk.map(Cell.integer))
        }
        let runs = CompactedSeqs.runs(of: seqs)
        let records = stride(from: 0, to: runs.count, by: perStatement / 2).map { start in
            let chunk = runs[start..<min(start + perStatement / 2, runs.count)]
            let rows = (0..<chunk.count).map { "(\(p(2 * $0 + 2)), \(p(2 * $0 + 3)), \(p(1)))" }.joined(separator: ", ")
            return SQLStatement(
                "INSERT INTO compacted_seqs (first_seq, last_seq, compaction) VALUES \(rows)",
                [.integer(compaction)] + chunk.flatMap { [Cell.integer($0.lowerBound), .integer($0.upperBound)] })
        }
        let bytes = batch.reduce(0) { $0 + Int64($1.bodyBytes) }
        let totals = SQLStatement(
            "UPDATE compactions SET removed = removed + \(p(1)), body_bytes = body_bytes + \(p(2)), compacted_at = \(p(3)) WHERE id = \(p(4))",
            [.integer(Int64(batch.count)), .integer(bytes), .text(now.description), .integer(compaction)])
        return deletes + records + [totals]
    }
}
