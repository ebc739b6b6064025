import NexMirrorCore

/// `--param NAME=VALUE` values for `query`: an integer (42, -7) binds as an integer, a plain
/// decimal (1608.54) as a real, anything else (007, 1e5, 2026-03-02, text) as text.
public struct QueryParameters: Sendable, Equatable {
    public let values: [String: SQLValue]

    public init(_ arguments: [String]) throws(QueryError) {
        var values: [String: SQLValue] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else { throw .notNameValue(argument) }
            var name = String(argument[..<equals])
            if let first = name.first, ":@$".contains(first) { name.removeFirst() }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .badParameterName(String(argument[..<equals]))
            }
            guard values[name] == nil else { throw .parameterGivenTwice(name) }
            values[name] = Self.typed(String(argument[argument.index(after: equals)...]))
        }
        self.values = values
    }

    public static func typed(_ value: String) -> SQLValue {
        if value.wholeMatch(of: /-?(0|[1-9][0-9]*)/) != nil, let integer = Int64(value) {
            return .integer(integer)
        }
        if value.wholeMatch(of: /-?(0|[1-9][0-9]*)\.[0-9]+/) != nil, let real = Double(value) {
            return .real(real)
        }
        return .text(value)
    }

    /// Checks the parameters a statement uses, as written (`:name`, `@name`, `$name`, `?1`,
    /// `?`), against those given: each used one must be given and each given one used (a
    /// misspelt name would otherwise bind nothing). nil in `written` is a bare `?`.
    public func check(written: [String?]) throws(QueryError) {
        var used: Set<String> = []
        for written in written {
            guard let written else { throw .positionalParameter }
            guard written.first != "?" else { throw .numberedParameter(written) }
            let name = String(written.dropFirst())
            guard values[name] != nil else { throw .missingParameter(written: written, name: name) }
            used.insert(name)
        }
        if let unused = values.keys.sorted().first(where: { !used.contains($0) }) { throw .unusedParameter(unused) }
    }
}

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
