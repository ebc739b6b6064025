/// A parsed JSON value. Numbers keep their literal text so amounts such as `0.09000` stay exact
/// and 64-bit ids never pass through floating point.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var isNull: Bool { self == .null }

    public var typeName: String { JSONKind(self).typeName }
}

/// The type of a JSON value, known after a validating scan that builds no values.
public enum JSONKind: UInt8, Sendable {
    case null, bool, number, string, array, object

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool: self = .bool
        case .number: self = .number
        case .string: self = .string
        case .array: self = .array
        case .object: self = .object
        }
    }
}

/// One member of a scanned object, as byte ranges of the document: the key between its quotes
/// (raw, escapes included) and the whole value.
public struct JSONMember: Sendable {
    public let key: Range<Int>
    public let value: Range<Int>
    public let kind: JSONKind
    /// The key, or a string value, holds escapes: its raw bytes are not its text.
    public let keyEscaped: Bool
    public let valueEscaped: Bool
}

/// A validated document: its type, each element of a top-level array, and the members of that
/// array's first element when it is an object (a webhook body's DTO), or of the document itself
/// when it is an object (a REST API record).
public struct JSONScan: Sendable {
    public var kind: JSONKind = .null
    public var elements: [(range: Range<Int>, kind: JSONKind)] = []
    public var firstElementMembers: [JSONMember] = []
    /// Byte range of a top-level object.
    public var objectRange: Range<Int>?
}

/// Why a body is not JSON, with the byte offset where parsing stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}
