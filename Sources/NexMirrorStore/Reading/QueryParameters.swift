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
