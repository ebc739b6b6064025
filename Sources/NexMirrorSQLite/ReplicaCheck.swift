import Crypto
import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// Proves that a database still holds what nexmirror wrote (SPEC §9): SQLite's integrity check,
/// every event's `body_sha256` against its body, `seq` strictly increasing without holes (but
/// those `compact` recorded) and
/// never above the highest one ever assigned, and the live replica equal to a fresh fold of the
/// log up to each projection's checkpoint.
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
                let checkpoints = try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, checkpoint FROM main.projections")
                        .map { (row: Row) -> (String, Int64) in (row[0], row[1]) })
                let tables = try createFreshTables(db)
                try scanAndFold(db, checkpoints: checkpoints, into: &report, progress: progress)
                for table in tables { try compare(table, db, into: &report) }
                report.tablesCompared = tables.count
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
        _ db: Database, checkpoints: [String: Int64], into report: inout CheckReport,
        progress: ((RebuildProgress) -> Void)?
    ) throws {
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM main.events") ?? 0
        let highestAssigned = try Int64.fetchOne(
            db, sql: "SELECT seq FROM main.sqlite_sequence WHERE name = 'events'") ?? 0
        let folder = ReplicaFolder(db: db, suffix: "", selected: nil)
        let compacted = try SQLiteStore.compactedSeqs(db)
        report.compacted = compacted.count
        let rows = try Row.fetchCursor(
            db, sql: """
                SELECT \(LoggedEvent.columns), body_sha256,
                       (SELECT erased_sha256 FROM main.erasures WHERE erasures.seq = logged.seq) AS erased_sha256
                FROM main.events AS logged ORDER BY seq
                """)
        var previous: Int64 = 0  // the log starts at 1, so a missing first delivery is a hole too
        var read = 0
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
            report.hole(after: previous, at: event.seq, read: read, compacted: compacted)
            if event.seq < 1 {
                report.findings.append(CheckFinding(
                    area: "events", message: "seq \(event.seq) is below 1, where the log starts: it was renumbered"))
            }
            if event.seq > highestAssigned {
                report.findings.append(CheckFinding(
                    area: "events",
                    message: "seq \(event.seq) is above the highest seq ever assigned (\(highestAssigned)): it was renumbered"))
            }
            previous = max(previous, event.seq)
            unfolded.append(event)
            if unfolded.count == 1000 { try fold() }
            read += 1
            if read % 5000 == 0 { progress?(RebuildProgress(eventsRead: read, eventsTotal: max(total, read))) }
        }
        try fold()
        progress?(RebuildProgress(eventsRead: read, eventsTotal: max(total, read)))
        report.events = read
        // Counted, not subtracted: a renumbered seq must not pass for thousands of deliveries.
        report.lag = try Projections.all.map { projection in
            let pending = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM main.events WHERE seq > ?",
                arguments: [checkpoints[projection.name] ?? 0]) ?? 0
            return (projection.name, pending)
        }
    }

    /// Rows of the live table missing from the fresh fold, extra in it, or different, by key.
    private func compare(_ table: String, _ db: Database, into report: inout CheckReport) throws {
        let columns = try Row.fetchAll(db, sql: "SELECT name, pk FROM pragma_table_info(?, 'main') ORDER BY pk", arguments: [table])
        var key = columns.filter { ($0["pk"] as Int) > 0 }.map { $0["name"] as String }
        if key.isEmpty { key = columns.map { $0["name"] as String } }
        let keyList = key.map { "\"\($0)\"" }.joined(separator: ", ")
        let live = "main.\"\(table)\""
        let fresh = "temp.\"\(table)\""

        func keys(_ sql: String) throws -> [String] {
            try Row.fetchAll(db, sql: sql).map { row in
                zip(key, row.databaseValues).map { "\($0)=\($1.storage.value.map { "\($0)" } ?? "NULL")" }
                    .joined(separator: " ")
            }
        }
        let missing = try keys("SELECT \(keyList) FROM \(fresh) EXCEPT SELECT \(keyList) FROM \(live)")
        let extra = try keys("SELECT \(keyList) FROM \(live) EXCEPT SELECT \(keyList) FROM \(fresh)")
        let different = try keys("""
            SELECT \(keyList) FROM (SELECT * FROM \(live) EXCEPT SELECT * FROM \(fresh))
            INTERSECT SELECT \(keyList) FROM \(fresh)
            """)
        report.rowsCompared += try Int.fetchOne(db, sql: "SELECT count(*) FROM \(live)") ?? 0

        report.findings += CheckFinding.replicaDifferences(
            table: table, missing: missing, extra: extra, different: different, keysShown: keysShown)
    }
}

extension DatabaseValue.Storage {
    fileprivate var value: Any? {
        switch self {
        case .null: nil
        case .int64(let value): value
        case .double(let value): value
        case .string(let value): value
        case .blob(let value): "<\(value.count) bytes>"
        }
    }
}
