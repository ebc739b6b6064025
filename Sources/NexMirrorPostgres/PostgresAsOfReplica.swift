import Foundation
import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorSchema
import NexMirrorStore
import PostgresNIO

/// The replica as the space stood at an instant T (`--as-of T`) on PostgreSQL: the fold of the
/// log's deliveries whose version time (`UpdatedOn`; without one, `received_at`) is at or before
/// T, built on one session in TEMP tables that carry the live tables' names, so the reader's
/// statements on that session find them first (PostgreSQL looks in `pg_temp` before any schema).
///
/// The live database is only read: its log is folded straight from it by the batched fold that
/// `rebuild` uses, and no lock is taken that `serve` (appends, projector) or a rebuild's swap
/// would wait for, beyond the moment the TEMP tables copy the live tables' definitions. The TEMP
/// relations vanish with the session.
enum PGAsOfReplica {
    /// Rows read from the log per batch, as `rebuild` reads them.
    static let batchSize = 2000

    /// Builds the as-of relations on `connection` and returns how many deliveries were folded.
    nonisolated(nonsending) static func build(asOf: Timestamp, on connection: PostgresConnection, logger: Logger) async throws
        -> Int
    {
        // Nothing built here needs to survive a crash; the session alone sees it.
        try await connection.query("SET synchronous_commit = off", logger: logger)
        let log = try await qualifiedLog(on: connection, logger: logger)
        let tables = Projections.replicaTables + ["projections"]
        // One short transaction: `LIKE` holds the live tables' ACCESS SHARE lock only until here,
        // so a rebuild's swap never waits for the fold below.
        try await connection.withTransaction(logger: logger) { connection in
            for table in tables {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(table) (LIKE \(table) INCLUDING ALL)"), logger: logger)
            }
            // Absorbs the fold's quarantine updates (unqualified `events`), which must not reach
            // the log; replaced by the view of the log below once the fold is done.
            try await connection.query("CREATE TEMP TABLE events (seq bigint, status text, error text)", logger: logger)
        }
        // Every write below goes to unqualified names: make sure each one is the TEMP relation.
        for table in tables + ["events"] {
            var isTemporary = false
            for try await temporary in try await connection.query(
                "SELECT relnamespace = pg_my_temp_schema() FROM pg_class WHERE oid = to_regclass(\(table))", logger: logger
            ).decode(Bool.self) {
                isTemporary = temporary
            }
            guard isTemporary else {
                throw PostgresOpenError.temporaryTableHidden(table)
            }
        }

        // Appends commit in seq order (one lock in the database), so every seq up to the log's
        // head now is committed: the fold and the `events` view both stop there.
        var head: Int64 = 0
        for try await last in try await connection.query("SELECT last_seq FROM log_head", logger: logger).decode(Int64.self) {
            head = last
        }
        let instant = asOf.description
        var cursor: Int64 = 0
        var folded = 0
        var lastFolded: Int64 = 0
        try await connection.withTransaction(logger: logger) { connection in
            let folder = PGBatchFolder(connection: connection, logger: logger, suffix: "")
            while true {
                var binds = PostgresBindings()
                binds.append(cursor)
                binds.append(head)
                binds.append(instant)
                binds.append(Int64(batchSize))
                // Text timestamps are canonical (7 digits, Z): byte order is time order, whatever
                // the database's collation.
                let events = try await LoggedEvent.read(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT \(LoggedEvent.columns) FROM \(log)
                            WHERE seq > $1 AND seq <= $2 AND \(AsOfFilter.condition(.postgreSQL, parameter: "$3"))
                            ORDER BY seq LIMIT $4
                            """, binds: binds), on: connection, logger: logger)
                guard let last = events.last?.seq else { break }
                try await folder.fold(events)
                folded += events.count
                cursor = last
                lastFolded = last
            }
        }

        let now = Timestamp.now.description
        try await connection.withTransaction(logger: logger) { connection in
            // As the as-of copy on SQLite records it: every projection at the last delivery folded.
            for projection in Projections.all {
                try await connection.query("""
                    INSERT INTO projections (name, version, checkpoint, rebuilt_at, updated_at)
                    VALUES (\(projection.name), \(Int64(projection.version)), \(lastFolded), \(now), \(now))
                    """, logger: logger)
            }
            try await connection.query("DROP TABLE pg_temp.events", logger: logger)
            // The head is a number, never input.
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE TEMP VIEW events AS SELECT * FROM \(log)
                WHERE seq <= \(head) AND \(AsOfFilter.condition(.postgreSQL, at: asOf))
                """), logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE TEMP VIEW members AS " + Schema.membersView), logger: logger)
            // A READ ONLY transaction still lets a statement write TEMP tables: refuse that as
            // PostgreSQL refuses writes to the live ones, with the same SQLSTATE.
            try await connection.query("""
                CREATE FUNCTION pg_temp.nexmirror_as_of_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'cannot execute % in a read-only transaction', TG_OP USING ERRCODE = 'read_only_sql_transaction';
                END $$
                """, logger: logger)
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TRIGGER nexmirror_as_of_read_only BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.\(table)
                    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.nexmirror_as_of_read_only()
                    """), logger: logger)
            }
        }
        return folded
    }

    /// `events` qualified by its schema, so it names the log whatever TEMP relation shadows it.
    nonisolated(nonsending) private static func qualifiedLog(on connection: PostgresConnection, logger: Logger) async throws
        -> String
    {
        // regnamespace's text is already quoted where the name needs it.
        for try await schema in try await connection.query(
            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('events')",
            logger: logger
        ).decode(String.self) {
            return "\(schema).events"
        }
        throw PostgresOpenError.noEventLog
    }
}
