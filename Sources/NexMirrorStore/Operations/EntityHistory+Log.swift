extension EntityHistory {
    /// The entity's deliveries from the log, in `seq` order, under any of `entityTypes`.
    package static func statement(entityTypes: [String], id: Int64, dialect: SQLDialect) -> SQLStatement {
        // `IN ()` is SQLite's only: no type matches nothing on both.
        let types = entityTypes.isEmpty ? "NULL" : entityTypes.indices.map { dialect.parameter($0 + 2) }.joined(separator: ", ")
        return SQLStatement("""
            SELECT seq, received_at, action, source, updated_on, status, error, body, entity_type, signature
            FROM events WHERE entity_id = \(dialect.parameter(1)) AND entity_type IN (\(types)) ORDER BY seq
            """, [.integer(id)] + entityTypes.map(Cell.text))
    }

    /// The history of the rows `statement` read.
    package init(entityTypes: [String], id: Int64, rows: [[Cell]]) {
        let records = rows.compactMap { row -> Record? in
            guard let seq = row[0].int64Value, let receivedAt = row[1].textValue, let action = row[2].textValue,
                let source = row[3].textValue, let status = row[5].textValue
            else { return nil }
            let body: [UInt8] = switch row[7] {
            case .blob(let data): [UInt8](data)
            case .text(let text): Array(text.utf8)
            default: []
            }
            return Record(
                seq: seq, receivedAt: receivedAt, action: action, source: source, updatedOn: row[4].rendered,
                status: status, error: row[6].rendered, body: body, entityType: row[8].rendered,
                signature: row[9].rendered)
        }
        self.init(entityTypes: entityTypes, id: id, records: records)
    }

    /// Reads the entity's deliveries through `executor` and replays them.
    public static func read(from executor: some SQLExecutor, entityTypes: [String], id: Int64) async throws -> EntityHistory {
        let rows = try await executor.read([statement(entityTypes: entityTypes, id: id, dialect: executor.dialect)])[0]
        return EntityHistory(entityTypes: entityTypes, id: id, rows: rows)
    }
}
