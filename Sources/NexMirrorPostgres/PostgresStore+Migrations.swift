import NexMirrorCore
import NexMirrorSchema
import PostgresNIO

extension PostgresStore {
    /// Applies `PostgresSchema.migrations` not yet recorded, in one transaction under an advisory
    /// lock. postgres-nio sends one statement per query, so each file runs through `EXECUTE`,
    /// which takes several.
    func migrate() async throws {
        // Generous: a migration that builds an index over a large log takes its time, and
        // receivers started together wait here for the first one's.
        try await withDeadline(.seconds(900), "migrate") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (identifier text PRIMARY KEY, applied_at text NOT NULL)",
                    logger: logger)
                var applied: Set<String> = []
                for try await identifier in try await connection.query(
                    "SELECT identifier FROM schema_migrations", logger: logger
                ).decode(String.self) {
                    applied.insert(identifier)
                }
                for migration in PostgresSchema.migrations where !applied.contains(migration.identifier) {
                    // The file is ours, embedded in the binary; nothing from input is spliced in.
                    try await connection.query(
                        PostgresQuery(unsafeSQL: """
                            DO $nexmirror_migration$ BEGIN EXECUTE $nexmirror_sql$\(migration.sql)$nexmirror_sql$; END $nexmirror_migration$
                            """), logger: logger)
                    try await connection.query(
                        "INSERT INTO schema_migrations VALUES (\(migration.identifier), \(Timestamp.now.description))",
                        logger: logger)
                }
            }
        }
    }

    /// Identifiers of the migrations recorded in the database.
    public func appliedMigrations() async throws -> [String] {
        var identifiers: [String] = []
        for try await identifier in try await client.query(
            "SELECT identifier FROM schema_migrations ORDER BY identifier"
        ).decode(String.self) {
            identifiers.append(identifier)
        }
        return identifiers
    }
}
