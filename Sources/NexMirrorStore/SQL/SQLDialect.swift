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

    /// The names of the store's tables and views (its schema only): SQLite keeps them in
    /// `sqlite_master` (`sqlite_temp_master` for a session's own), PostgreSQL in its catalog.
    public var relations: String {
        switch self {
        case .sqlite:
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                + "UNION SELECT name FROM sqlite_temp_master WHERE type IN ('table', 'view')"
        case .postgreSQL:
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    }

    /// The column names of `table` (a name compiled in, never input), as each engine lists them.
    public func columns(of table: String) -> String {
        switch self {
        case .sqlite: "SELECT name FROM pragma_table_info('\(table)')"
        case .postgreSQL:
            "SELECT column_name::text FROM information_schema.columns "
                + "WHERE table_schema = current_schema() AND table_name = '\(table)'"
        }
    }

    /// The seconds from one text timestamp to another, as a double: SQLite counts in Julian days,
    /// PostgreSQL subtracts `timestamptz`s (which keep microseconds, finer than any use here).
    public func seconds(from earlier: String, to later: String) -> String {
        switch self {
        case .sqlite: "(julianday(\(later)) - julianday(\(earlier))) * 86400.0"
        case .postgreSQL: "extract(epoch FROM (\(later))::timestamptz - (\(earlier))::timestamptz)::float8"
        }
    }

    /// The columns of the live `table` (a name compiled in) in their order, each with its place in
    /// the primary key (from 1), 0 when not in it: SQLite's `pragma_table_info` (`main`: a check's
    /// TEMP copy carries the same name) or PostgreSQL's catalog (whose `int2vector` counts from 0).
    public func keyColumns(of table: String) -> String {
        switch self {
        case .sqlite: "SELECT name, pk FROM pragma_table_info('\(table)', 'main') ORDER BY cid"
        case .postgreSQL:
            """
            SELECT a.attname::text, coalesce((SELECT array_position(i.indkey, a.attnum) - array_lower(i.indkey, 1) + 1
                FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary), 0)
            FROM pg_attribute a WHERE a.attrelid = '\(table)'::regclass AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """
        }
    }
}
