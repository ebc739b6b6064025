import Foundation
import Logging
import NIOCore
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `query`, `events` and `export` on PostgreSQL: every statement runs in a `READ ONLY` transaction that is
/// rolled back, so PostgreSQL itself refuses writes; transaction control is refused before.
public final class PostgresReader: ReplicaReader {
    let store: PostgresStore
    /// With `--as-of`: the one session that holds the replica as it stood then (TEMP relations
    /// are seen by their own session only), which every read of this reader uses.
    private let asOfSession: PostgresConnection?

    /// Opens without migrating: a database nexmirror never wrote to is refused, not changed.
    /// With `asOf`, reads see the replica as it stood at that instant, folded aside from the log
    /// on a session of their own (`PGAsOfReplica`); the live replica is only read.
    public init(url: PostgresURL, asOf: Timestamp? = nil) async throws {
        store = try await PostgresStore(url: url, logger: Logger(label: "nexmirror"), migrating: false)
        var isNexmirror = false
        for try await exists in try await store.client.query(
            "SELECT to_regclass('events') IS NOT NULL AND to_regclass('log_head') IS NOT NULL"
        ).decode(Bool.self) {
            isNexmirror = exists
        }
        guard isNexmirror else {
            store.close()
            throw PostgresOpenError.notANexmirrorDatabase(url: url)
        }
        guard let asOf else {
            asOfSession = nil
            return
        }
        let quiet = PostgresStore.quiet(store.logger)
        let session: PostgresConnection
        do {
            session = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(store.endpoint), id: 1, logger: quiet)
        } catch {
            store.close()
            throw PostgresOpenError.cannotConnect(url: url, reason: PostgresStore.connectReason(error, url: url))
        }
        do {
            _ = try await PGAsOfReplica.build(asOf: asOf, on: session, logger: store.logger)
        } catch {
            // Closing the session drops whatever TEMP relation was made.
            try? await session.close()
            store.close()
            throw StoreError.opening("cannot build the replica as of \(asOf): \(PostgresStore.reason(error))")
        }
        asOfSession = session
    }

    deinit {
        // The as-of relations end with their session. The task keeps the connection until it is
        // closed (postgres-nio requires that before it goes), or until the process exits.
        if let asOfSession { Task { try? await asOfSession.close() } }
        store.close()
    }

    /// Runs `body` on the as-of session when there is one, else on a pooled connection.
    nonisolated(nonsending) func withReadConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        if let asOfSession { return try await body(asOfSession) }
        return try await store.client.withConnection(body)
    }

    /// Runs `body` in a READ ONLY transaction on one connection, rolled back after it.
    nonisolated(nonsending) func inReadOnlyTransaction<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withReadConnection { connection in
            try await connection.query("BEGIN TRANSACTION READ ONLY", logger: store.logger)
            do {
                let result = try await body(connection)
                try await connection.query("ROLLBACK", logger: store.logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: store.logger)
                throw error
            }
        }
    }

    public func query(_ sql: String, parameters: QueryParameters, into writer: inout some RowWriter) async throws {
        // The READ ONLY transaction refuses writes; the shared refusals the rest, as on SQLite.
        try QueryError.refuse(sql)
        let keyword = QueryError.firstKeyword(of: sql)
        let (text, written) = Self.numberParameters(sql)
        try parameters.check(written: written)
        var binds = PostgresBindings()
        // One bind per distinct name, in the order numberParameters gave them `$1`, `$2`…
        var bound: Set<String> = []
        for name in written.compactMap({ $0 }).map({ String($0.dropFirst()) }) where bound.insert(name).inserted {
            guard let value = parameters.values[name] else { throw QueryError.sql("no value for :\(name)") }
            binds.bind(value)
        }
        try await read(PostgresQuery(unsafeSQL: text, binds: binds), keyword: keyword, sql: sql, into: &writer)
    }

    public func listEvents(_ filter: EventFilter, into writer: inout some RowWriter) async throws {
        let listing = filter.statement(.postgreSQL)
        try await read(PostgresExecutor.query(listing), keyword: "SELECT", sql: listing.sql, into: &writer)
    }

    public func event(seq: Int64) async throws -> LoggedDelivery? {
        try await store.executor.read([LoggedDelivery.statement(seq: seq, dialect: .postgreSQL)])[0].first
            .map(LoggedDelivery.init(row:))
    }

    public func lastSeq() async throws -> Int64? {
        for try await last in try await store.client.query("SELECT max(seq) FROM events").decode(Int64?.self) {
            return last
        }
        return nil
    }

    /// Runs `query` in a read-only transaction on one connection and streams its rows into
    /// `writer` as they arrive (postgres-nio reads on only when the rows before were taken), so
    /// memory stays flat however long the result. An error after some rows were written leaves
    /// them to the writer, as on SQLite: what its buffer already flushed stays out, the rest is
    /// dropped with the error; a refused write fails before its first row, so nothing is written.
    private func read(
        _ query: PostgresQuery, keyword: String, sql: String, into writer: inout some RowWriter
    ) async throws {
        do {
            try await inReadOnlyTransaction { connection in
                try await stream(query, wrapping: Self.wrappable.contains(keyword), on: connection, into: &writer)
            }
        } catch let error as PSQLError {
            let message = error.serverInfo?[.message] ?? PostgresStore.reason(error)
            switch error.serverInfo?[.sqlState] {
            case "25006": throw QueryError.writes(keyword)
            case "42601" where message.contains("multiple commands"):
                throw QueryError.severalStatements(sql.split(separator: ";").filter { !$0.allSatisfy(\.isWhitespace) }.count)
            default: throw QueryError.sql(message)
            }
        }
        try writer.end()
    }

    /// The statements that can be read as records: a SELECT, WITH, VALUES or TABLE is a valid
    /// subquery (EXPLAIN, SHOW and the rest are not).
    static let wrappable: Set<String> = ["SELECT", "WITH", "VALUES", "TABLE"]

    /// Streams `query`'s rows into `writer` as they arrive (postgres-nio reads on only when the
    /// rows before were taken), so memory stays flat however long the result. With `wrapping`,
    /// each row comes as one record (`PostgresRecordLender`), unless the statement cannot be a
    /// subquery; then, as without, cell by cell. `header` names the columns, else the statement does.
    func stream(
        _ query: PostgresQuery, wrapping: Bool, header: [String]? = nil, on connection: PostgresConnection,
        into writer: inout some RowWriter
    ) async throws {
        if wrapping, let columns = try await recordColumns(of: query, on: connection) {
            let rows = try await connection.query(Self.records(of: query, columns: columns), logger: store.logger)
            try writer.begin(columns: header ?? columns.map(\.name))
            var lender = PostgresRecordLender(columns: columns.map(\.name))
            for try await row in rows {
                try lender.lend(try row.decode(ByteBuffer.self)) { try writer.write(raw: $0) }
            }
            return
        }
        let rows = try await connection.query(query, logger: store.logger)
        // From the row description, so an empty result still has its header, as on SQLite.
        try writer.begin(columns: header ?? rows.columns.map(\.name))
        // Only statements that cannot be a subquery (EXPLAIN, SHOW) get here: short results,
        // written as cells.
        for try await row in rows { try writer.write(row.map(Self.cell)) }
    }

    /// The columns of `query` as a subquery, or nil when it cannot be one; the open transaction
    /// is left as it was either way. (A LIMIT 0 plans the statement, runs none of it.)
    private func recordColumns(
        of query: PostgresQuery, on connection: PostgresConnection
    ) async throws -> [(name: String, type: PostgresDataType)]? {
        try await connection.query("SAVEPOINT nexmirror_records", logger: store.logger)
        do {
            let head = PostgresQuery(
                unsafeSQL: "SELECT * FROM (\n\(Self.subquery(query.sql))\n) AS nexmirror_q LIMIT 0", binds: query.binds)
            let rows = try await connection.query(head, logger: store.logger)
            for try await _ in rows {}
            try await connection.query("RELEASE SAVEPOINT nexmirror_records", logger: store.logger)
            return rows.columns.map { ($0.name, $0.dataType) }
        } catch {
            // The statement itself then runs as written, and any error is its own.
            try await connection.query("ROLLBACK TO SAVEPOINT nexmirror_records", logger: store.logger)
            return nil
        }
    }

    /// `query` with each row as one record. The columns are renamed by position (a statement may
    /// name two alike), and those of a type without a reading of its own here (dates, times,
    /// intervals, arrays…) come as PostgreSQL's own text for them, as psql prints them.
    static func records(of query: PostgresQuery, columns: [(name: String, type: PostgresDataType)]) -> PostgresQuery {
        let fields = columns.indices.map { index in
            // `format('%s')` calls the type's output function, as psql shows it (`::text` gives
            // inet its mask); it makes NULL empty text, hence the CASE.
            readsNatively.contains(columns[index].type)
                ? "nexmirror_q.c\(index)"
                : "CASE WHEN nexmirror_q.c\(index) IS NULL THEN NULL ELSE format('%s', nexmirror_q.c\(index)) END"
        }
        let renamed = columns.isEmpty ? "" : "(\(columns.indices.map { "c\($0)" }.joined(separator: ", ")))"
        return PostgresQuery(
            unsafeSQL: "SELECT ROW(\(fields.joined(separator: ", "))) FROM (\n\(subquery(query.sql))\n) AS nexmirror_q\(renamed)",
            binds: query.binds)
    }

    /// `sql` without the semicolons and blanks it ends with (`SELECT now();` is as often typed as
    /// not), so it can stand inside parentheses. A semicolon there can end only a line comment
    /// (`-- note;`), which the line break after the subquery still ends.
    static func subquery(_ sql: String) -> Substring {
        var end = sql.endIndex
        while end > sql.startIndex, sql[sql.index(before: end)] == ";" || sql[sql.index(before: end)].isWhitespace {
            end = sql.index(before: end)
        }
        return sql[..<end]
    }

    /// The types `PostgresRecordLender` and `cell` read from their binary form.
    static let readsNatively: Set<PostgresDataType> = [
        .int2, .int4, .int8, .bool, .float4, .float8, .numeric, .text, .varchar, .bpchar, .name, .json, .jsonb,
        .bytea,
    ]

    /// One value as the CLI prints it on SQLite: integers and booleans (0/1) as integers,
    /// numeric as SQLite's REAL when a double holds it exactly, bytea as bytes, else text.
    static func cell(_ cell: PostgresCell) -> Cell {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map(Cell.integer) ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .integer($0 ? 1 : 0) } ?? .null
        case .float4, .float8: return (try? cell.decode(Double.self)).map(Cell.real) ?? .null
        // Amounts are stored from the DTO's doubles (SQLite keeps them REAL): printed as SQLite
        // prints them (0.0, 2516.14), unless the value needs more than a double holds.
        case .numeric:
            guard let decimal = try? cell.decode(Decimal.self) else { return .null }
            let text = "\(decimal)"
            guard let real = Double(text) else { return .decimal(text) }
            // Most amounts print the same both ways (2516.14): no second Decimal to parse.
            if real.description == text || Decimal(string: real.description) == decimal { return .real(real) }
            return .decimal(text)
        case .bytea: return (try? cell.decode(ByteBuffer.self)).map { .blob(Data(buffer: $0)) } ?? .null
        default:
            if let text = try? cell.decode(String.self) { return .text(text) }
            var bytes = cell.bytes!
            if cell.dataType == .jsonb { bytes.moveReaderIndex(forwardBy: 1) }  // binary jsonb: version byte
            return .text(String(buffer: bytes))
        }
    }

    /// Rewrites `:name` parameters as `$1`, `$2`… (skipping strings, quoted names, comments and
    /// `::` casts) and returns them as written. (`?` is a jsonb operator here, not a parameter.)
    static func numberParameters(_ sql: String) -> (String, [String?]) {
        let characters = Array(sql)
        var output = ""
        var written: [String?] = []
        var numbers: [String: Int] = [:]
        var index = 0
        func copy(until end: Int) {
            output += String(characters[index..<min(end, characters.count)])
            index = min(end, characters.count)
        }
        while index < characters.count {
            let character = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            if character == "'" || character == "\"" {
                var end = index + 1
                while end < characters.count, characters[end] != character { end += 1 }
                copy(until: end + 1)
            } else if character == "-", next == "-" {
                var end = index
                while end < characters.count, !characters[end].isNewline { end += 1 }
                copy(until: end)
            } else if character == "/", next == "*" {
                var end = index + 2
                while end + 1 < characters.count, !(characters[end] == "*" && characters[end + 1] == "/") { end += 1 }
                copy(until: end + 2)
            } else if character == ":", next == ":" {
                copy(until: index + 2)
            } else if character == ":", let next, next.isLetter || next == "_" {
                var end = index + 1
                while end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" {
                    end += 1
                }
                let name = String(characters[(index + 1)..<end])
                written.append(":" + name)
                let number = numbers[name] ?? (numbers.count + 1)
                numbers[name] = number
                output += "$\(number)"
                index = end
            } else {
                copy(until: index + 1)
            }
        }
        return (output, written)
    }
}
