/// The versioned SQL migrations under `Schema/`, embedded in the binary at build time.
///
/// (SwiftPM names an embedded file by replacing its leading digit with `_`.)
/// Identifiers are stored in each database once applied: never rename or edit a shipped
/// migration; add the next number instead.
public enum Schema {
    public struct Migration: Sendable {
        public let identifier: String
        public let sql: String
    }

    public static let migrations: [Migration] = [
        Migration(identifier: "0001_event_log", sql: text(PackageResources._001_event_log_sql)),
        Migration(identifier: "0002_replica", sql: text(PackageResources._002_replica_sql)),
        Migration(identifier: "0003_sync", sql: text(PackageResources._003_sync_sql)),
        Migration(identifier: "0004_activity_index", sql: text(PackageResources._004_activity_index_sql)),
        Migration(identifier: "0005_sync_fetch_mode", sql: text(PackageResources._005_sync_fetch_mode_sql)),
        Migration(identifier: "0006_erasure", sql: text(PackageResources._006_erasure_sql)),
        Migration(identifier: "0007_compaction", sql: text(PackageResources._007_compaction_sql)),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
