import Logging
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// Multi-row writes of the batch folder.
extension PGBatchFolder {
    /// PostgreSQL binds at most 65,535 parameters per statement; rows are sent in chunks below it.
    static let parametersPerStatement = 30_000

    /// `INSERT … SELECT * FROM unnest($1, $2, …) ON CONFLICT …`: one array parameter per column
    /// (`PostgresColumnArray`), a column whose values are all NULL written as `NULL`. A chunk with
    /// a column of mixed kinds, which no projection makes, falls back to a multi-row `VALUES`.
    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws {
        let perStatement = 20_000
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            start += perStatement
            var binds = PostgresBindings(capacity: columns.count)
            var arrays: [String] = []
            var selected: [String] = []
            var mixed = false
            for column in columns.indices {
                switch PostgresColumnArray.element(of: chunk, column: column) {
                case .none:
                    selected.append("NULL")
                case .some(.none):
                    mixed = true
                case .some(.some(let element)):
                    binds.append(PostgresColumnArray(element: element, rows: chunk, column: column))
                    arrays.append("$\(binds.count)::\(element.sqlArrayType)")
                    selected.append("u.c\(column)")
                }
            }
            if mixed {
                try await insertValues(into: table, columns: columns, rows: chunk, conflict: conflict)
                continue
            }
            let names = columns.indices.filter { selected[$0] != "NULL" }.map { "c\($0)" }
            let sql = """
                INSERT INTO \(table) (\(columns.joined(separator: ", ")))
                SELECT \(selected.joined(separator: ", ")) FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))
                ON CONFLICT \(conflict)
                """
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        }
    }

    /// `INSERT … VALUES (…), (…) ON CONFLICT …` in chunks under the parameter limit.
    private func insertValues(
        into table: String, columns: [String], rows: ArraySlice<[SQLValue]>, conflict: String
    ) async throws {
        let perStatement = max(1, Self.parametersPerStatement / columns.count)
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + perStatement, rows.endIndex)]
            var binds = PostgresBindings(capacity: chunk.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(chunk.count)
            for row in chunk {
                let first = binds.count + 1
                for value in row { binds.bind(value) }
                tuples.append("(" + (first..<first + row.count).map { "$\($0)" }.joined(separator: ", ") + ")")
            }
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT \(conflict)"
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            start += perStatement
        }
    }
}
