/// The SQL dialect a store runs the shared statements in. Output must not depend on it:
/// PostgreSQL compares and sorts text bytewise (`COLLATE "C"`, as SQLite's BINARY) and puts NULLs
/// first (as SQLite does), whatever locale its database was created with.
public enum SQLDialect: Sendable {
    case sqlite, postgreSQL

    /// The `number`th positional parameter (from 1): `?1` on SQLite, `$1` on PostgreSQL (where a
    /// bare `?` is a jsonb operator).
    public func parameter(_ number: Int) -> String {
        switch self {
        case .sqlite: "?\(number)"
        case .postgreSQL: "$\(number)"
        }
    }

    /// A top-level string field of the row's `data` JSON, as text. On PostgreSQL through `json`,
    /// not `jsonb`: the field is read once per row, and building a jsonb value first costs more
    /// than the rest of a long `export` (BENCHMARKS.md); for a string field both give the same text.
    public func json(_ field: String) -> String {
        switch self {
        case .sqlite: "json_extract(data, '$.\(field)')"
        case .postgreSQL: "(data::json ->> '\(field)')"
        }
    }

    /// A text column in a comparison.
    public func text(_ column: String) -> String {
        switch self {
        case .sqlite: column
        case .postgreSQL: "\(column) COLLATE \"C\""
        }
    }

    /// A text column as a sort key.
    public func ascending(_ column: String) -> String {
        switch self {
        case .sqlite: column
        case .postgreSQL: "\(column) COLLATE \"C\" NULLS FIRST"
        }
    }

    /// Whether the bytes of `column` hold those of `parameter`: SQLite's `instr` takes blobs,
    /// PostgreSQL's bytea needs `position`.
    public func contains(_ column: String, _ parameter: String) -> String {
        switch self {
        case .sqlite: "instr(\(column), \(parameter)) > 0"
        case .postgreSQL: "position(\(parameter) IN \(column)) > 0"
        }
    }

    /// The key the connection's last insert gave a row: SQLite's rowid, or PostgreSQL's last
    /// serial value (both this connection's own, whatever others insert meanwhile).
    public var lastInsertedKey: String {
        switch self {
        case .sqlite: "SELECT last_insert_rowid()"
        case .postgreSQL: "SELECT lastval()"
        }
    }
}
