import Crypto
import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// Proves that a database still holds what nexmirror wrote (SPEC §9): SQLite's integrity check,
/// every event's `body_sha256` against its body, `seq` strictly increasing without holes (but
/// those `compact` recorded) and never above the highest one ever assigned, no checkpoint above
/// it either, and the live replica equal to a fresh fold of the log up to each projection's
/// checkpoint. The findings and the comparison are the shared ones (`CheckReport`,
/// `ReplicaComparison`); the hashing, the TEMP copies and the fold are this backend's.
///
/// Everything is read in one read transaction of a read-only connection, so `serve` may keep
/// ingesting: the check sees one consistent instant. The fresh fold goes into TEMP copies of
/// the replica tables, which SQLite resolves before the live ones for the unqualified names the
/// fold uses, so `ReplicaFolder` runs unchanged and nothing is written to the database file.
public struct ReplicaCheck {
    let path: String
    /// At most this many keys are named in one finding line.
    var keysShown = 5

    public init(path: String) { self.path = path }

    public func run(progress: ((RebuildProgress) -> Void)? = nil) throws -> CheckReport {
        let queue = try SQLiteStore.openReadOnly(path: path)
        return try queue.inDatabase { db in
            var report = CheckReport()
            try db.inTransaction(.deferred) {
                try checkIntegrity(db, into: &report)
                let highestAssigned = try Int64.fetchOne(
                    db, sql: "SELECT seq FROM main.sqlite_sequence WHERE name = 'events'") ?? 0
                let checkpoints = report.checkpoints(
                    try SQLiteExecutor.run([CheckReport.checkpointStatement(projections: "main.projections")], in: db)[0],
                    highestAssigned: highestAssigned)
                let tables = try createFreshTables(db)
                try scanAndFold(
                    db, checkpoints: checkpoints, highestAssigned: highestAssigned, into: &report, progress: progress)
                for table in tables {
                    let columns = try SQLiteExecutor.run([ReplicaComparison.columnStatement(table, dialect: .sqlite)], in: db)
                    let comparison = ReplicaComparison(table, columns: columns[0])
                    let rows = try SQLiteExecutor.run(
                        comparison.statements(live: "main.\"\(table)\"", fresh: "temp.\"\(table)\""), in: db)
                    report.compared(comparison, rows, keysShown: keysShown)
                }
                return .rollback  // the TEMP tables go with it
            }
            return report
        }
    }

    private func checkIntegrity(_ db: Database, into report: inout CheckReport) throws {
        let messages = try String.fetchAll(db, sql: "PRAGMA main.integrity_check")
        for message in messages where message != "ok" {
            report.findings.append(CheckFinding(area: "integrity", message: message))
        }
    }

    /// TEMP copies of every replica table (same definition, same indexes), plus an empty TEMP
    /// `events` that absorbs the fold's quarantine updates, which must not reach the log.
    private func createFreshTables(_ db: Database) throws -> [String] {
        let tables = Projections.replicaTables
        for table in tables {
            guard let ddl = try String.fetchOne(
                db, sql: "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", arguments: [table])
            else { throw StoreError.notANexmirrorDatabase(path) }
            try db.execute(sql: "CREATE TEMP TABLE \(table) \(ddl[ddl.firstIndex(of: "(")!...])")
            let indexes = try Row.fetchAll(
                db, sql: "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                arguments: [table])
            for index in indexes {
                let sql: String = index["sql"]
                let name: String = index["name"]
                guard let on = sql.range(of: " ON ", options: .caseInsensitive) else { continue }
                let unique = sql.uppercased().hasPrefix("CREATE UNIQUE") ? "UNIQUE " : ""
                try db.execute(sql: "CREATE \(unique)INDEX temp.\(name)\(sql[on.lowerBound...])")
            }
        }
        try db.execute(sql: "CREATE TEMP TABLE events (seq INTEGER PRIMARY KEY, status TEXT, error TEXT)")
        return tables
    }

    /// One pass over the log in `seq` order: hashes, `seq`, and the fold into the TEMP tables
    /// of every delivery at or below its projection's checkpoint.
    private func scanAndFold(
        _ db: Database, checkpoints: [String: Int64], highestAssigned: Int64, into report: inout CheckReport,
        progress: ((RebuildProgress) -> Void)?
    ) throws {
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM main.events") ?? 0
        let folder = ReplicaFolder(db: db, suffix: "", selected: nil)
        let compacted = try SQLiteStore.compactedSeqs(db)
        report.compacted = compacted.count
        let rows = try Row.fetchCursor(
            db, sql: """
                SELECT \(LoggedEvent.columns), body_sha256,
                       (SELECT erased_sha256 FROM main.erasures WHERE erasures.seq = logged.seq) AS erased_sha256
                FROM main.events AS logged ORDER BY seq
                """)
        var unfolded: [LoggedEvent] = []
        let fold = {
            try folder.fold(unfolded) { event, projection in event.seq <= checkpoints[projection.name] ?? 0 }
            unfolded.removeAll(keepingCapacity: true)
        }
        while let row = try rows.next() {
            let event = LoggedEvent(row: row)
            let erased: String? = row["erased_sha256"]
            if let finding = CheckFinding.bodyHash(
                seq: event.seq, stored: row["body_sha256"], erased: erased, actual: Hex.encodeLower(SHA256.hash(data: event.body)))
            {
                report.findings.append(finding)
            }
            if erased != nil { report.erased += 1 }
            report.logged(seq: event.seq, highestAssigned: highestAssigned, compacted: compacted)
            unfolded.append(event)
            if unfolded.count == 1000 { try fold() }
            if report.events % 5000 == 0 { progress?(RebuildProgress(eventsRead: report.events, eventsTotal: max(total, report.events))) }
        }
        try fold()
        progress?(RebuildProgress(eventsRead: report.events, eventsTotal: max(total, report.events)))
        report.lag(try SQLiteExecutor.run(
            CheckReport.lagStatements(log: "main.events", checkpoints: checkpoints, dialect: .sqlite), in: db))
    }
}
