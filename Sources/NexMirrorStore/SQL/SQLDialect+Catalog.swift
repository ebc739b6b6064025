/// The statements that read the engine's catalog (which tables, views and columns exist), and
/// time arithmetic on text timestamps: each engine spells them its own way.
extension SQLDialect {
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
