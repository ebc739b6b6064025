import GRDB
import GRDBSQLite
import NexMirrorCore
import NexMirrorStore

/// Compiles user SQL and refuses anything but one statement that only reads.
enum ReadOnlyStatement {
    static func prepare(_ sql: String, in db: Database) throws -> Statement {
        // Before compiling, so a keyword SQLite does not parse (SET, PREPARE) is refused as on PostgreSQL.
        try QueryError.refuse(sql)
        var statements: [Statement] = []
        let cursor = try db.allStatements(sql: sql)
        while let statement = try cursor.next() {
            try refuseUnlessReadOnly(statement)
            statements.append(statement)
        }
        guard let statement = statements.first else { throw QueryError.noStatement }
        guard statements.count == 1 else { throw QueryError.severalStatements(statements.count) }
        return statement
    }

    /// Every statement of a script, not only its first, passes the shared refusals; then
    /// `sqlite3_stmt_readonly` says whether it writes a database file (it calls ATTACH, DETACH,
    /// transaction control and some setting PRAGMAs read-only, since they change only the
    /// connection: the shared refusals name those).
    static func refuseUnlessReadOnly(_ statement: Statement) throws(QueryError) {
        try QueryError.refuse(statement.sql)
        guard statement.isReadonly else { throw .writes(QueryError.firstKeyword(of: statement.sql)) }
    }

    /// The arguments for `statement`, once `parameters` are checked against those it uses.
    static func arguments(_ parameters: QueryParameters, for statement: Statement) throws -> StatementArguments {
        let count = sqlite3_bind_parameter_count(statement.sqliteStatement)
        let written = (0..<count).map { index in
            sqlite3_bind_parameter_name(statement.sqliteStatement, index + 1).map { String(cString: $0) }
        }
        try parameters.check(written: written)
        return StatementArguments(parameters.values.mapValues { $0.databaseValue as (any DatabaseValueConvertible)? })
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .real(let real): real.databaseValue
        case .text(let text): text.databaseValue
        }
    }
}
