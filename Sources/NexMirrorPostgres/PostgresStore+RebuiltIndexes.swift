import Logging
import PostgresNIO

/// An index of a live replica table, which a rebuild recreates on the `__next` table under a
/// `__next` name and gives back its own name at the swap: the names stay those of the migrations
/// (`coworkers_email`, `coworkers_pkey`), which later migrations may name.
struct RebuiltIndex: Sendable {
    let table: String
    let name: String
    /// Backs a PRIMARY KEY or UNIQUE constraint (renamed as a constraint, which renames the index).
    let constraint: String?
    let isPrimary: Bool
    let isUnique: Bool
    /// `USING btree (email)`, with any `WHERE` of a partial index.
    let method: String

    var nextName: String { name + "__next" }

    /// The rebuild's writes need the unique ones (ON CONFLICT): they are built before the bulk.
    /// The others are built after it, in one pass over the filled table instead of one insert
    /// at a time.
    var isNeededByTheFold: Bool { isUnique }

    func create(on connection: PostgresConnection, logger: Logger) async throws {
        // Names come from the catalog of our own tables, never from input.
        try await connection.query(PostgresQuery(unsafeSQL: """
            CREATE \(isUnique ? "UNIQUE " : "")INDEX \(nextName) ON \(table)__next \(method)
            """), logger: logger)
        if constraint != nil {
            try await connection.query(PostgresQuery(unsafeSQL: """
                ALTER TABLE \(table)__next ADD CONSTRAINT \(nextName) \(isPrimary ? "PRIMARY KEY" : "UNIQUE") USING INDEX \(nextName)
                """), logger: logger)
        }
    }

    /// After the `__next` table took the live table's name (the live one and its indexes are gone).
    func rename(on connection: PostgresConnection, logger: Logger) async throws {
        let sql = constraint != nil
            ? "ALTER TABLE \(table) RENAME CONSTRAINT \(nextName) TO \(constraint!)"
            : "ALTER INDEX \(nextName) RENAME TO \(name)"
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// The indexes of the live `tables`, as the catalog describes them.
    static func of(_ tables: [String], on connection: PostgresConnection, logger: Logger) async throws -> [RebuiltIndex] {
        var indexes: [RebuiltIndex] = []
        for try await (table, name, constraint, isPrimary, isUnique, method) in try await connection.query("""
            SELECT t.relname::text, c.relname::text, con.conname::text, i.indisprimary, i.indisunique,
                   substring(pg_get_indexdef(i.indexrelid) FROM ' (USING .*)$')
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u')
            WHERE t.oid IN (SELECT to_regclass(name)::oid FROM unnest(\(tables)::text[]) AS name)
            ORDER BY t.relname, NOT i.indisprimary, c.relname
            """, logger: logger).decode((String, String, String?, Bool, Bool, String).self)
        {
            indexes.append(RebuiltIndex(
                table: table, name: name, constraint: constraint, isPrimary: isPrimary, isUnique: isUnique,
                method: method))
        }
        return indexes
    }
}
