/// A replica table compared with a fresh fold of the log by primary key, as `check` does on
/// every backend: the keys of rows missing from the live table, extra in it, and different,
/// each list sorted by key, then the findings they make. The backend builds the fresh copy
/// (its TEMP mechanics) and names both tables.
package struct ReplicaComparison {
    let table: String
    /// The primary key's columns, in key order; every column for a table without one.
    let key: [String]

    /// The columns of the live `table`, each with its place in the primary key (0 when not in it).
    package static func columnStatement(_ table: String, dialect: SQLDialect) -> SQLStatement {
        SQLStatement(dialect.keyColumns(of: table))
    }

    /// `columns`: the rows of `columnStatement`.
    package init(_ table: String, columns: [[Cell]]) {
        self.table = table
        let named = columns.compactMap { row in row[0].textValue.map { (name: $0, place: row[1].intValue) } }
        let key = named.filter { $0.place > 0 }.sorted { $0.place < $1.place }.map(\.name)
        self.key = key.isEmpty ? named.map(\.name) : key
    }

    /// The keys missing from `live`, extra in it, different, then its row count. `live` and
    /// `fresh` are the two tables' quoted (and, where needed, qualified) names.
    package func statements(live: String, fresh: String) -> [SQLStatement] {
        let keys = key.map { "\"\($0)\"" }.joined(separator: ", ")
        return [
            "SELECT \(keys) FROM (SELECT \(keys) FROM \(fresh) EXCEPT SELECT \(keys) FROM \(live)) AS k ORDER BY \(keys)",
            "SELECT \(keys) FROM (SELECT \(keys) FROM \(live) EXCEPT SELECT \(keys) FROM \(fresh)) AS k ORDER BY \(keys)",
            """
            SELECT \(keys) FROM (SELECT \(keys) FROM (SELECT * FROM \(live) EXCEPT SELECT * FROM \(fresh)) AS d
                INTERSECT SELECT \(keys) FROM \(fresh)) AS k ORDER BY \(keys)
            """,
            "SELECT count(*) FROM \(live)",
        ].map { SQLStatement($0) }
    }

    /// The findings of the rows `statements` read.
    package func findings(_ rows: [[[Cell]]], keysShown: Int) -> [CheckFinding] {
        CheckFinding.replicaDifferences(
            table: table, missing: rows[0].map(label), extra: rows[1].map(label), different: rows[2].map(label),
            keysShown: keysShown)
    }

    /// The live table's rows, as the last statement counted them.
    package func rowCount(_ rows: [[[Cell]]]) -> Int { rows[3].first?.first?.intValue ?? 0 }

    /// A row's key as a finding names it: `entity_type=Coworker id=7`.
    func label(_ row: [Cell]) -> String {
        zip(key, row).map { name, cell in
            let value: String = switch cell {
            case .null: "NULL"
            case .blob(let data): "<\(data.count) bytes>"
            default: cell.rendered ?? "NULL"
            }
            return "\(name)=\(value)"
        }.joined(separator: " ")
    }
}
