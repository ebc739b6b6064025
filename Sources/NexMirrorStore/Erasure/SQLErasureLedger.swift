import NexMirrorCore

/// An `ErasingStore` on a SQL store: the ledger and the figures are read with the same
/// statements on every backend, each in one read transaction of the executor the backend lends
/// (`doing` says what a read was for, for the one line a database error becomes).
public protocol SQLErasureLedger: ErasingStore {
    func erasureExecutor(doing: String) -> any SQLExecutor
}

extension SQLErasureLedger {
    public func erasureLedger() async throws -> [ErasedSubject] {
        try await erasureExecutor(doing: "read the erasure ledger").rows("""
            SELECT coworker_id, erased_at, reason, origin FROM erased_subjects ORDER BY erased_at, coworker_id
            """).compactMap { row in
                guard case .integer(let id) = row[0], case .text(let at) = row[1], case .text(let origin) = row[3] else { return nil }
                return ErasedSubject(
                    coworkerId: id, erasedAt: at, reason: ErasureStatements.text(row[2]),
                    origin: ErasureOrigin(rawValue: origin) ?? .forget)
            }
    }

    public func erasableDeletedCoworkers(deletedBefore: Timestamp) async throws -> [Int64] {
        let executor = erasureExecutor(doing: "find deleted coworkers to erase")
        return try await executor.rows(
            ErasureStatements.deletedCoworkers + " AND e.received_at < \(executor.dialect.parameter(1)) ORDER BY t.id",
            [.text(deletedBefore.description)]
        ).compactMap { row in if case .integer(let id) = row[0] { id } else { nil } }
    }

    public func erasureFigures(deletedBefore: Timestamp?) async throws -> ErasureFigures {
        let executor = erasureExecutor(doing: "count erasures")
        let due = deletedBefore.map { _ in
            "(SELECT count(*) FROM (\(ErasureStatements.deletedCoworkers) AND e.received_at < \(executor.dialect.parameter(1))) d)"
        }
        let row = try await executor.rows("""
            SELECT (SELECT count(*) FROM erased_subjects), (SELECT count(*) FROM erasures),
                   (SELECT count(*) FROM (\(ErasureStatements.deletedCoworkers)) p), \(due ?? "0")
            """, deletedBefore.map { [.text($0.description)] } ?? []).first ?? []
        func count(_ column: Int) -> Int {
            if column < row.count, case .integer(let count) = row[column] { Int(count) } else { 0 }
        }
        var figures = ErasureFigures()
        figures.subjectsErased = count(0)
        figures.deliveriesErased = count(1)
        figures.pending = count(2)
        figures.due = count(3)
        return figures
    }
}
