/// The PostgreSQL migrations under `Schema/postgres/`, embedded like the SQLite ones. Same table
/// and column names as `Schema.migrations`; identifiers are recorded in `schema_migrations`.
public enum PostgresSchema {
    public static let migrations: [Schema.Migration] = [
        Schema.Migration(identifier: "0001_pg_event_log", sql: text(PackageResources._001_pg_event_log_sql)),
        Schema.Migration(identifier: "0002_pg_replica", sql: text(PackageResources._002_pg_replica_sql)),
        Schema.Migration(identifier: "0003_pg_append_batch", sql: text(PackageResources._003_pg_append_batch_sql)),
        Schema.Migration(
            identifier: "0004_pg_append_on_conflict", sql: text(PackageResources._004_pg_append_on_conflict_sql)),
        Schema.Migration(
            identifier: "0005_pg_replica_index_names", sql: text(PackageResources._005_pg_replica_index_names_sql)),
        Schema.Migration(
            identifier: "0006_pg_sync_fetch_mode", sql: text(PackageResources._006_pg_sync_fetch_mode_sql)),
        Schema.Migration(identifier: "0007_pg_erasure", sql: text(PackageResources._007_pg_erasure_sql)),
        Schema.Migration(identifier: "0008_pg_compaction", sql: text(PackageResources._008_pg_compaction_sql)),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
