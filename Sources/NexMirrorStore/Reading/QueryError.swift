/// Why `query` did not run the SQL; each message is one line that says what to change.
public enum QueryError: Error, Equatable, CustomStringConvertible {
    case notNameValue(String)
    case badParameterName(String)
    case parameterGivenTwice(String)
    case positionalParameter
    case numberedParameter(String)
    case missingParameter(written: String, name: String)
    case unusedParameter(String)
    case noStatement
    case severalStatements(Int)
    /// ATTACH or DETACH.
    case otherDatabase(String)
    case transactionControl(String)
    case settingPragma
    /// The statement would write; the keyword is empty when the SQL starts with none.
    case writes(String)
    /// The database refused the SQL (syntax, unknown table…), in its own words.
    case sql(String)

    public var description: String {
        switch self {
        case .notNameValue(let argument): "--param expects NAME=VALUE, got '\(argument)'"
        case .badParameterName(let name): "--param name '\(name)' must be letters, digits or _"
        case .parameterGivenTwice(let name): "--param \(name) is given twice"
        case .positionalParameter:
            "the query has a positional parameter (?); name it (:name) and pass --param name=VALUE"
        case .numberedParameter(let written):
            "the query has a numbered parameter (\(written)); name it (:name) and pass --param name=VALUE"
        case .missingParameter(let written, let name): "the query uses \(written) but no --param \(name)=VALUE was given"
        case .unusedParameter(let name): "--param \(name) is not used by the query (it has no :\(name))"
        case .noStatement: "no SQL statement given"
        case .severalStatements(let count):
            "query runs one statement at a time; this SQL holds \(count) (run each separately)"
        case .otherDatabase(let keyword): "refused: \(keyword) is not allowed; query reads this database only"
        case .transactionControl(let keyword):
            "refused: \(keyword) is not allowed; query runs each statement in its own read transaction"
        case .settingPragma: "refused: PRAGMA … = … changes a setting; query is read-only"
        case .writes(let keyword):
            "refused: \(keyword.isEmpty ? "this statement" : keyword) would write to the database; query is read-only"
        case .sql(let message): "SQL error: \(message)"
        }
    }

    /// Refuses, by its first keyword, a statement the engine's read-only guard would let
    /// through, on either backend: ATTACH and DETACH (SQLite could open, even create, another
    /// file), transaction control (a COMMIT would end the read transaction `query` runs in),
    /// session settings (`SET`, `RESET`, `PRAGMA … = …`, which would outlive the statement on a
    /// pooled connection) and `PREPARE`. Everything else is left to the engine, which refuses
    /// writes itself (a read-only connection, a READ ONLY transaction); SQL that holds no
    /// statement at all is refused too.
    public static func refuse(_ sql: String) throws(QueryError) {
        let keyword = firstKeyword(of: sql)
        switch keyword {
        case "" where holdsNoStatement(sql): throw .noStatement
        case "ATTACH", "DETACH": throw .otherDatabase(keyword)
        case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE", "SET", "RESET":
            throw .transactionControl(keyword)
        case "PRAGMA" where sql.contains("="): throw .settingPragma
        default: return
        }
    }

    /// The first keyword of a statement, after blanks, semicolons and comments, upper-cased.
    public static func firstKeyword(of sql: String) -> String {
        guard let rest = afterBlanksAndComments(sql) else { return "" }
        return String(rest.prefix { $0.isLetter }).uppercased()
    }

    /// True when the SQL holds only blanks, semicolons and comments: a backend whose engine
    /// would run it as an empty statement refuses it as SQLite does.
    public static func holdsNoStatement(_ sql: String) -> Bool {
        afterBlanksAndComments(sql)?.isEmpty ?? false
    }

    /// What follows the leading blanks, semicolons and comments; nil inside an unterminated
    /// comment (left to the database to report).
    private static func afterBlanksAndComments(_ sql: String) -> Substring? {
        var rest = Substring(sql)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == ";" }
            if rest.hasPrefix("--") {
                rest = rest.drop { !$0.isNewline }
            } else if rest.hasPrefix("/*") {
                guard let end = rest.range(of: "*/") else { return nil }
                rest = rest[end.upperBound...]
            } else {
                return rest
            }
        }
    }
}
