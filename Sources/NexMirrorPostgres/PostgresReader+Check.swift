import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

/// `check` and `backup` on PostgreSQL.
extension PostgresReader: StoreMaintenance {
    /// A SQLite file copy has no PostgreSQL counterpart a client could write atomically;
    /// `pg_dump` already takes a consistent snapshot while receivers append.
    public func backup(to file: String) async throws -> BackupSummary {
        throw StoreError.unsupportedBackend(
            "backup copies a SQLite file; for a PostgreSQL store use pg_dump (e.g. `pg_dump -Fc -f nexmirror.dump DBNAME`), "
                + "which takes a consistent snapshot while serve runs")
    }

    /// The checks of SPEC §9 that PostgreSQL does not do itself (it has no file-level integrity
    /// check to run): bodies against `body_sha256`, `seq` without holes and never above
    /// `log_head`, checkpoints never above it either, and the replica against a fresh fold of the
    /// log up to each checkpoint, built in TEMP tables of one REPEATABLE READ snapshot that is
    /// rolled back, so nothing is written and `serve` keeps ingesting.
    public func check(progress: ((RebuildProgress) -> Void)?) async throws -> CheckReport {
        let logger = store.logger
        do {
            return try await store.client.withConnection { connection in
                try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger)
                do {
                    let report = try await Self.check(on: connection, logger: logger, progress: progress)
                    try await connection.query("ROLLBACK", logger: logger)
                    return report
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw CheckError.failed(database: store.url.description, reason: PostgresStore.reason(error))
        }
    }

    /// At most this many keys are named in one finding line.
    static let keysShown = 5

    nonisolated(nonsending) private static func check(
        on connection: PostgresConnection, logger: Logger, progress: ((RebuildProgress) -> Void)?
    ) async throws -> CheckReport {
        var report = CheckReport()
        let tables = Projections.all.flatMap(\.ownedTables) + ["tombstones"]
        // Before the snapshot is taken: a rebuild's swap (DROP, RENAME) waits for the check
        // instead of replacing a table halfway through it.
        try await connection.query(
            PostgresQuery(unsafeSQL: "LOCK TABLE \(tables.joined(separator: ", ")) IN ACCESS SHARE MODE"), logger: logger)
        var schema = "public"
        for try await name in try await connection.query(
            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'events'::regclass", logger: logger
        ).decode(String.self) {
            schema = name
        }
        let log = "\(schema).events"
        var high: Int64 = 0
        for try await last in try await connection.query("SELECT last_seq FROM log_head", logger: logger).decode(Int64.self) {
            high = last
        }
        let checkpoints = report.checkpoints(
            try await PostgresExecutor.run(CheckReport.checkpointStatement(), on: connection, logger: logger),
            highestAssigned: high)
        // PostgreSQL hashes the bodies itself: no body crosses the wire twice.
        // A body rewritten by an erasure hashes to its erasure record's hash instead.
        for try await (seq, stored, erased, actual) in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT e.seq, e.body_sha256, x.erased_sha256, encode(sha256(e.body), 'hex')
            FROM \(log) e LEFT JOIN \(schema).erasures x ON x.seq = e.seq
            WHERE coalesce(x.erased_sha256, e.body_sha256) IS DISTINCT FROM encode(sha256(e.body), 'hex') ORDER BY e.seq
            """), logger: logger).decode((Int64, String, String?, String).self) {
            if let finding = CheckFinding.bodyHash(seq: seq, stored: stored, erased: erased, actual: actual) {
                report.findings.append(finding)
            }
        }
        for try await count in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).erasures"), logger: logger
        ).decode(Int64.self) {
            report.erased = Int(count)
        }

        for table in tables {
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(table)__check (LIKE \(table) INCLUDING ALL)"), logger: logger)
        }
        // Absorbs the fold's quarantine updates (unqualified `events`: TEMP comes first), which
        // must not reach the log.
        try await connection.query("CREATE TEMP TABLE events (seq bigint, status text, error text)", logger: logger)

        var total = 0
        for try await count in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(log)"), logger: logger
        ).decode(Int64.self) {
            total = Int(count)
        }
        let folder = PGBatchFolder(connection: connection, logger: logger, suffix: "__check")
        let compacted = try await PostgresStore.compactedSeqs(on: connection, logger: logger)
        report.compacted = compacted.count
        var cursor = Int64.min
        while true {
            let events = try await LoggedEvent.read(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT \(LoggedEvent.columns) FROM \(log)
                        WHERE seq > $1 ORDER BY seq LIMIT 2000
                        """, binds: { var binds = PostgresBindings(); binds.append(cursor); return binds }()),
                on: connection, logger: logger)
            guard !events.isEmpty else { break }
            for event in events {
                report.logged(seq: event.seq, highestAssigned: high, compacted: compacted)
                cursor = event.seq
            }
            try await folder.fold(events) { event, projection in event.seq <= checkpoints[projection.name] ?? 0 }
            progress?(RebuildProgress(eventsRead: report.events, eventsTotal: max(total, report.events)))
        }
        var lag: [[[Cell]]] = []
        for statement in CheckReport.lagStatements(log: log, checkpoints: checkpoints, dialect: .postgreSQL) {
            lag.append(try await PostgresExecutor.run(statement, on: connection, logger: logger))
        }
        report.lag(lag)
        for table in tables {
            let columns = try await PostgresExecutor.run(
                ReplicaComparison.columnStatement(table, dialect: .postgreSQL), on: connection, logger: logger)
            let comparison = ReplicaComparison(table, columns: columns)
            var rows: [[[Cell]]] = []
            for statement in comparison.statements(live: "\"\(table)\"", fresh: "\"\(table)__check\"") {
                rows.append(try await PostgresExecutor.run(statement, on: connection, logger: logger))
            }
            report.compared(comparison, rows, keysShown: keysShown)
        }
        return report
    }
}
