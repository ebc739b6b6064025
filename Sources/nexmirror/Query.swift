import ArgumentParser
import Foundation
import GRDB
import GRDBSQLite

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one read-only SQL statement on the replica and the event log.",
        discussion: """
            The connection is opened read-only, and any statement that would change a database is \
            refused before it runs (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, REINDEX, ANALYZE, \
            VACUUM, ATTACH, DETACH, PRAGMA NAME = VALUE, transaction control). One statement per call: a script of several statements is \
            refused, so the output is always one result set.

            --format defaults to `table` on a terminal and `csv` when the output is piped or \
            redirected. csv is RFC 4180 (CRLF line endings); tsv escapes tabs and newlines as \\t \
            and \\n; json is one array of objects, jsonl one object per line, both keeping numbers \
            as numbers and NULL as null. Reals print in their shortest exact form (1608.54).

            --param NAME=VALUE binds :NAME, @NAME or $NAME. A VALUE that is an integer (42, -7) \
            is bound as an integer, a plain decimal (1608.54) as a real, anything else (007, \
            1e5, 2026-03-02, text) as text. Comparisons with a column convert by the column's \
            type anyway; write CAST(:NAME AS TEXT) to force text.

            Examples:
              nexmirror query "SELECT full_name, email FROM members ORDER BY full_name"
              nexmirror query --format json --param min=1000 \\
                "SELECT invoice_number FROM invoices WHERE total_amount >= :min"
              echo "SELECT count(*) FROM events" | nexmirror query -
              nexmirror query --as-of 2026-01-01 "SELECT count(*) FROM members"

            --as-of T answers from the replica as it stood at T: the fold of every delivery whose \
            version time (its UpdatedOn; without one, its received_at) is at or before T, built \
            aside in a scratch database (the live replica is only read); it costs about a rebuild \
            of those deliveries. T is a date (the start of that day, UTC) or a timestamp.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var asOf: AsOfOptions

    @Option(help: "table, csv, tsv, json, jsonl or markdown (default: table on a terminal, else csv).")
    var format: OutputFormat?

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp("Bind :NAME in the SQL to VALUE (repeatable).", valueName: "NAME=VALUE"))
    var parameters: [String] = []

    @Argument(help: "The SQL statement, or - to read it from standard input.")
    var sql: String

    func validate() throws {
        _ = try QueryParameters(parameters)
        _ = try asOf.instant
    }

    func run() async throws {
        let text = sql == "-" ? String(decoding: Terminal.readAllStandardInput(), as: UTF8.self) : sql
        let parameters = try QueryParameters(self.parameters)
        let (queue, replica) = try asOf.open(database)
        defer { replica?.remove() }
        var writer = (format ?? .automatic).writer(to: BufferedOutput())
        try ReadOnlyDatabase.read(queue) { db in
            let statement = try ReadOnlyStatement.prepare(text, in: db)
            try writer.write(statement, arguments: try parameters.arguments(for: statement))
        }
    }
}

/// `--param NAME=VALUE` values, typed as the help explains.
struct QueryParameters {
    let values: [String: DatabaseValue]

    init(_ arguments: [String]) throws {
        var values: [String: DatabaseValue] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                throw CLIError("--param expects NAME=VALUE, got '\(argument)'")
            }
            var name = String(argument[..<equals])
            if let first = name.first, ":@$".contains(first) { name.removeFirst() }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw CLIError("--param name '\(argument[..<equals])' must be letters, digits or _")
            }
            guard values[name] == nil else { throw CLIError("--param \(name) is given twice") }
            values[name] = Self.typed(String(argument[argument.index(after: equals)...]))
        }
        self.values = values
    }

    static func typed(_ value: String) -> DatabaseValue {
        if value.wholeMatch(of: /-?(0|[1-9][0-9]*)/) != nil, let integer = Int64(value) {
            return integer.databaseValue
        }
        if value.wholeMatch(of: /-?(0|[1-9][0-9]*)\.[0-9]+/) != nil, let real = Double(value) {
            return real.databaseValue
        }
        return value.databaseValue
    }

    /// The arguments for `statement`, after checking that each parameter it uses is given and
    /// each one given is used (a misspelt name would otherwise bind nothing).
    func arguments(for statement: Statement) throws -> StatementArguments {
        let count = sqlite3_bind_parameter_count(statement.sqliteStatement)
        var used: Set<String> = []
        for index in 0..<count {
            guard let cName = sqlite3_bind_parameter_name(statement.sqliteStatement, index + 1) else {
                throw CLIError("the query has a positional parameter (?); name it (:name) and pass --param name=VALUE")
            }
            let written = String(cString: cName)
            guard written.first != "?" else {
                throw CLIError("the query has a numbered parameter (\(written)); name it (:name) and pass --param name=VALUE")
            }
            let name = String(written.dropFirst())
            guard values[name] != nil else {
                throw CLIError("the query uses \(written) but no --param \(name)=VALUE was given")
            }
            used.insert(name)
        }
        if let unused = values.keys.sorted().first(where: { !used.contains($0) }) {
            throw CLIError("--param \(unused) is not used by the query (it has no :\(unused))")
        }
        return StatementArguments(values.mapValues { $0 as (any DatabaseValueConvertible)? })
    }
}

/// Compiles user SQL and refuses anything but one statement that only reads.
enum ReadOnlyStatement {
    static func prepare(_ sql: String, in db: Database) throws -> Statement {
        var statements: [Statement] = []
        let cursor = try db.allStatements(sql: sql)
        while let statement = try cursor.next() {
            try refuseUnlessReadOnly(statement)
            statements.append(statement)
        }
        guard let statement = statements.first else { throw CLIError("no SQL statement given") }
        guard statements.count == 1 else {
            throw CLIError(
                "query runs one statement at a time; this SQL holds \(statements.count) (run each separately)")
        }
        return statement
    }

    /// `sqlite3_stmt_readonly` says whether a statement writes a database file. It calls
    /// ATTACH, DETACH, transaction control and some setting PRAGMAs read-only since they change
    /// only the connection, so those are refused by their keyword: ATTACH could open (and
    /// create) another file, and a COMMIT would end the read transaction under GRDB.
    static func refuseUnlessReadOnly(_ statement: Statement) throws {
        let keyword = firstKeyword(of: statement.sql)
        switch keyword {
        case "ATTACH", "DETACH":
            throw CLIError("refused: \(keyword) is not allowed; query reads this database only")
        case "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE":
            throw CLIError("refused: \(keyword) is not allowed; query runs each statement in its own read transaction")
        case "PRAGMA" where statement.sql.contains("="):
            throw CLIError("refused: PRAGMA … = … changes a setting; query is read-only")
        default:
            guard statement.isReadonly else {
                throw CLIError("refused: \(keyword.isEmpty ? "this statement" : keyword) would write to the database; query is read-only")
            }
        }
    }

    static func firstKeyword(of sql: String) -> String {
        var rest = Substring(sql)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == ";" }
            if rest.hasPrefix("--") {
                rest = rest.drop { !$0.isNewline }
            } else if rest.hasPrefix("/*") {
                guard let end = rest.range(of: "*/") else { return "" }
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        return String(rest.prefix { $0.isLetter }).uppercased()
    }
}
