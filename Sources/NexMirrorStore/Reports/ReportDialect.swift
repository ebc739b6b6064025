/// The SQL dialect a store runs the reports' queries in. Output must not depend on it: PostgreSQL
/// compares and sorts text bytewise (`COLLATE "C"`, as SQLite's BINARY) and puts NULLs first (as
/// SQLite does), whatever locale its database was created with.
public enum ReportDialect: Sendable {
    case sqlite, postgreSQL

    /// A top-level string field of the row's `data` JSON, as text.
    func json(_ field: String) -> String {
        switch self {
        case .sqlite: "json_extract(data, '$.\(field)')"
        case .postgreSQL: "(data::jsonb ->> '\(field)')"
        }
    }

    /// A text column in a comparison.
    func text(_ column: String) -> String {
        switch self {
        case .sqlite: column
        case .postgreSQL: "\(column) COLLATE \"C\""
        }
    }

    /// A text column as a sort key.
    func ascending(_ column: String) -> String {
        switch self {
        case .sqlite: column
        case .postgreSQL: "\(column) COLLATE \"C\" NULLS FIRST"
        }
    }
}
