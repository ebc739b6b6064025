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

    /// A top-level string field of the row's `data` JSON, as text.
    public func json(_ field: String) -> String {
        switch self {
        case .sqlite: "json_extract(data, '$.\(field)')"
        case .postgreSQL: "(data::jsonb ->> '\(field)')"
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
}
