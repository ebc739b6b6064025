import NexMirrorCore

extension EventFilter {
    /// The listing `events` prints: the newest `limit` matching deliveries, oldest first (all of
    /// them, which need no second sort, for 0). A backend streams its rows.
    public func statement(_ dialect: SQLDialect) -> SQLStatement {
        var conditions: [String] = []
        var arguments: [Cell] = []
        func parameter(_ value: Cell) -> String {
            arguments.append(value)
            return dialect.parameter(arguments.count)
        }
        if let action { conditions.append("action = \(parameter(.text(action)))") }
        if let (types, id) = entity {
            // `IN ()` is SQLite's only: no type matches nothing on both.
            let names = types.isEmpty ? "NULL" : types.map { parameter(.text($0)) }.joined(separator: ", ")
            conditions.append("entity_type IN (\(names)) AND entity_id = \(parameter(.integer(id)))")
        }
        if quarantinedOnly { conditions.append("status = '\(DeliveryStatus.quarantined.rawValue)'") }
        if let since { conditions.append("received_at >= \(parameter(.text(since.description)))") }
        let select = """
            SELECT seq, received_at, action, entity_type, entity_id, updated_on, status, error, source,
                   length(body) AS bytes
            FROM events\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            """
        guard limit > 0 else { return SQLStatement("\(select)\nORDER BY seq", arguments) }
        let newest = parameter(.integer(Int64(limit)))
        return SQLStatement("SELECT * FROM (\(select)\nORDER BY seq DESC LIMIT \(newest)) AS newest ORDER BY seq", arguments)
    }
}

extension LoggedDelivery {
    /// One delivery's metadata (`metadataColumns`, in order), then its body.
    public static func statement(seq: Int64, dialect: SQLDialect) -> SQLStatement {
        SQLStatement("""
            SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                   length(body) AS bytes, body_sha256, source, signature, status, error, body
            FROM events WHERE seq = \(dialect.parameter(1))
            """, [.integer(seq)])
    }

    /// The delivery of a row `statement` read.
    public init(row: [Cell]) {
        let body: [UInt8] = switch row.last {
        case .blob(let data): [UInt8](data)
        case .text(let text): Array(text.utf8)
        default: []
        }
        self.init(metadata: Array(row.dropLast()), body: body)
    }
}
