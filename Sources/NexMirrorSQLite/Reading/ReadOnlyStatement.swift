import GRDB
import GRDBSQLite
import NexMirrorCore
import NexMirrorStore

/// Compiles user SQL and refuses anything but one statement that only reads.
enum ReadOnlyStatement {
    static func prepare(_ sql: String, in db: Database) throws -> Statement {
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

    /// `sqlite3_stmt_readonly` says whether a statement writes a database file. It calls
    /// ATTACH, DETACH, transaction control and some setting PRAGMAs read-only since they change
    /// only the connection, so those are refused by their keyword: ATTACH could open (and
    /// create) another file, and a COMMIT would end the read transaction under GRDB.
    static func refuseUnlessReadOnly(_ statement: Statement) throws(QueryError) {
        let keyword = QueryError.firstKeyword(of: statement.sql)
        switch keyword {
        case "ATTACH", "DETACH": throw .otherDatabase(keyword)
        case "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE": throw .transactionControl(keyword)
        case "PRAGMA" where statement.sql.contains("="): throw .settingPragma
        default: guard statement.isReadonly else { throw .writes(keyword) }
        }
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
