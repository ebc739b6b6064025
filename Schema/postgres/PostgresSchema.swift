/// The PostgreSQL migrations under `Schema/postgres/`, embedded like the SQLite ones. Same table
/// and column names as `Schema.migrations`; identifiers are recorded in `schema_migrations`.
public enum PostgresSchema {
    public static let migrations: [Schema.Migration] = Schema.postgresFiles.map(Schema.migration)
}
