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
        var checkpoints: [String: Int64] = [:]
        for try await (name, checkpoint) in try await connection.query(
            "SELECT name, checkpoint FROM projections ORDER BY name", logger: logger
        ).decode((String, Int64).self) {
            checkpoints[name] = checkpoint
            if checkpoint > high {
                report.findings.append(CheckFinding(
                    area: "projections",
                    message: "\(name)'s checkpoint \(checkpoint) is above the last seq of the log (\(high))"))
            }
        }
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
        var previous: Int64 = 0  // the log starts at 1, so a missing first delivery is a hole too
        var cursor = Int64.min
        var read = 0
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
                report.hole(after: previous, at: event.seq, read: read, compacted: compacted)
                if event.seq > high {
                    report.findings.append(CheckFinding(
                        area: "events",
                        message: "seq \(event.seq) is above the highest seq ever assigned (\(high)): it was renumbered"))
                }
                if event.seq < 1 {
                    report.findings.append(CheckFinding(
                        area: "events", message: "seq \(event.seq) is below 1, where the log starts: it was renumbered"))
                }
                previous = max(previous, event.seq)
                cursor = event.seq
                read += 1
            }
            try await folder.fold(events) { event, projection in event.seq <= checkpoints[projection.name] ?? 0 }
            progress?(RebuildProgress(eventsRead: read, eventsTotal: max(total, read)))
        }
        report.events = read
        for projection in Projections.all {
            var pending = 0
            for try await count in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(log) WHERE seq > $1", binds: {
                    var binds = PostgresBindings()
                    binds.append(checkpoints[projection.name] ?? 0)
                    return binds
                }()), logger: logger
            ).decode(Int64.self) {
                pending = Int(count)
            }
            report.lag.append((projection.name, pending))
        }
        for table in tables { try await compare(table, on: connection, logger: logger, into: &report) }
        report.tablesCompared = tables.count
        return report
    }

    /// Rows of the live table missing from the fresh fold, extra in it, or different, by key.
    nonisolated(nonsending) private static func compare(
        _ table: String, on connection: PostgresConnection, logger: Logger, into report: inout CheckReport
    ) async throws {
        var key: [String] = []
        for try await column in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT a.attname::text FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = '\(table)'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
            """), logger: logger).decode(String.self) {
            key.append(column)
        }
        if key.isEmpty {
            for try await column in try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT attname::text FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attnum > 0 AND NOT attisdropped
                ORDER BY attnum
                """), logger: logger).decode(String.self) {
                key.append(column)
            }
        }
        let keyList = key.map { "\"\($0)\"" }.joined(separator: ", ")
        let label = key.map { "'\($0)=' || coalesce(\"\($0)\"::text, 'NULL')" }.joined(separator: " || ' ' || ")
        let live = "\"\(table)\""
        let fresh = "\"\(table)__check\""

        func keys(_ sql: String) async throws -> [String] {
            var found: [String] = []
            for try await text in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String.self) {
                found.append(text)
            }
            return found
        }
        let missing = try await keys(
            "SELECT \(label) FROM (SELECT \(keyList) FROM \(fresh) EXCEPT SELECT \(keyList) FROM \(live)) AS k ORDER BY \(keyList)")
        let extra = try await keys(
            "SELECT \(label) FROM (SELECT \(keyList) FROM \(live) EXCEPT SELECT \(keyList) FROM \(fresh)) AS k ORDER BY \(keyList)")
        let different = try await keys("""
            SELECT \(label) FROM (SELECT \(keyList) FROM (SELECT * FROM \(live) EXCEPT SELECT * FROM \(fresh)) AS d
                INTERSECT SELECT \(keyList) FROM \(fresh)) AS k ORDER BY \(keyList)
            """)
        for try await count in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(live)"), logger: logger
        ).decode(Int64.self) {
            report.rowsCompared += Int(count)
        }
        report.findings += CheckFinding.replicaDifferences(
            table: table, missing: missing, extra: extra, different: different, keysShown: keysShown)
    }
}
