/// The versioned SQL migrations under `Schema/`, embedded in the binary at build time by the
/// SchemaMigrations plugin: every `NNNN_name.sql` file, in the order of the names.
///
/// Identifiers (the file names without `.sql`) are stored in each database once applied: never
/// rename or edit a shipped migration; add a file with the next number instead.
public enum Schema {
    public struct Migration: Sendable {
        public let identifier: String
        public let sql: String
    }

    public static let migrations: [Migration] = sqliteFiles.map(migration)

    /// The `members` view's query (migration 0002 on both backends), for the places that create
    /// the view again: a PostgreSQL swap and an as-of session.
    public static let membersView = "SELECT * FROM coworkers WHERE active = 1 AND archived = 0"

    static func migration(_ file: (identifier: String, bytes: [UInt8])) -> Migration {
        Migration(identifier: file.identifier, sql: String(decoding: file.bytes, as: UTF8.self))
    }
}
