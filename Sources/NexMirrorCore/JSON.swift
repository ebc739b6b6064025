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

/// A strict RFC 8259 parser over raw bytes. It also reports where each top-level array element
/// starts and ends, so the replica can store a DTO's exact bytes without re-serialising them.
public struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    /// False for a scan: the same checks, but strings, numbers and containers are not built.
    private let building: Bool
    private var index = 0
    private var depth = 0
    /// Whether the last string parsed held an escape, so readers of its raw bytes must decode it.
    private var lastStringEscaped = false
    /// Arrays and objects nest at most this deep. The parser recurses once per level, so the
    /// limit keeps a hostile body (30,000 `[`) from overflowing a thread's stack; Json.NET's own
    /// default is 64, and no fixture body nests deeper than 3.
    public static let maxDepth = 512

    /// Parses a whole document.
    public static func parse(_ data: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        try parseTopLevel(data).value
    }

    /// Parses a whole document and returns, when it is an array, the byte range of each element.
    public static func parseTopLevel(
        _ data: some Collection<UInt8>
    ) throws(JSONSyntaxError) -> (value: JSONValue, elementRanges: [Range<Int>]) {
        let result: Result<(JSONValue, [Range<Int>]), JSONSyntaxError> =
            data.withContiguousStorageIfAvailable { buffer in
                Result { () throws(JSONSyntaxError) in
                    var parser = JSONParser(bytes: buffer)
                    return try parser.document()
                }
            } ?? Array(data).withUnsafeBufferPointer { buffer in
                Result { () throws(JSONSyntaxError) in
                    var parser = JSONParser(bytes: buffer)
                    return try parser.document()
                }
            }
        return try result.get()
    }

    /// Validates a whole document as strictly as `parse`, building no values: what ingest and
    /// the fold need to index a DTO without allocating its members.
    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONScan {
        var parser = JSONParser(bytes: bytes, building: false)
        return try parser.scanDocument()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, building: Bool = true) {
        self.bytes = bytes
        self.building = building
    }

    private mutating func scanDocument() throws(JSONSyntaxError) -> JSONScan {
        var scan = JSONScan()
        skipWhitespace()
        if peek() == UInt8(ascii: "[") {
            scan.kind = .array
            try enter()
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
            } else {
                elements: while true {
                    skipWhitespace()
                    let start = index
                    let kind: JSONKind
                    if scan.elements.isEmpty, peek() == UInt8(ascii: "{") {
                        var members: [JSONMember]? = []
                        _ = try object(recording: &members)
                        scan.firstElementMembers = members ?? []
                        kind = .object
                    } else {
                        kind = JSONKind(try value())
                    }
                    scan.elements.append((start..<index, kind))
                    skipWhitespace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "]"): index += 1; break elements
                    default: throw fail("expected ',' or ']'")
                    }
                }
            }
            depth -= 1
        } else if peek() == UInt8(ascii: "{") {
            let start = index
            var members: [JSONMember]? = []
            _ = try object(recording: &members)
            scan.kind = .object
            scan.firstElementMembers = members ?? []
            scan.objectRange = start..<index
        } else {
            scan.kind = JSONKind(try value())
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the document") }
        return scan
    }

    private mutating func document() throws(JSONSyntaxError) -> (JSONValue, [Range<Int>]) {
        skipWhitespace()
        var ranges: [Range<Int>] = []
        let value: JSONValue
        if peek() == UInt8(ascii: "[") {
            value = try array(recordingRanges: &ranges)
        } else {
            value = try self.value()
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the document") }
        return (value, ranges)
    }

    private func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard let byte = peek() else { throw fail("unexpected end of data") }
        switch byte {
        case UInt8(ascii: "{"):
            var unrecorded: [JSONMember]? = nil
            return try object(recording: &unrecorded)
        case UInt8(ascii: "["):
            var ignored: [Range<Int>] = []
            return try array(recordingRanges: &ignored)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of data") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    /// Parses an object; `recorded`, when not nil, receives each member's byte ranges.
    private mutating func object(recording recorded: inout [JSONMember]?) throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [String: JSONValue] = [:]
        if building { members.reserveCapacity(32) }
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let keyStart = index + 1
            let key = try string()
            let keyEnd = index - 1
            let keyEscaped = lastStringEscaped
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let valueStart = index
            let value = try self.value()
            if building { members[key] = value }
            let kind = JSONKind(value)
            recorded?.append(JSONMember(
                key: keyStart..<keyEnd, value: valueStart..<index, kind: kind, keyEscaped: keyEscaped,
                valueEscaped: kind == .string && lastStringEscaped))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    private mutating func array(recordingRanges ranges: inout [Range<Int>]) throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            let start = index
            let element = try value()
            if building {
                elements.append(element)
                ranges.append(start..<index)
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    private mutating func number() throws(JSONSyntaxError) -> String {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("invalid number") }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let byte = peek(), isDigit(byte) else { throw fail("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek(), isDigit(byte) else { throw fail("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        guard building else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func string() throws(JSONSyntaxError) -> String {
        index += 1
        let start = index
        lastStringEscaped = false
        // Fast path: no escapes. Pure ASCII needs no UTF-8 validation (most keys and values).
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if !building {
                    guard ascii || Self.isValidUTF8(slice) else {
                        throw JSONSyntaxError(offset: start, message: "string is not valid UTF-8")
                    }
                    return ""
                }
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw JSONSyntaxError(offset: start, message: "string is not valid UTF-8")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        lastStringEscaped = true
        var scalars: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw JSONSyntaxError(offset: start, message: "string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = peek() else { throw fail("unexpected end of data") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), peek() == UInt8(ascii: "\\"),
                       index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                        let save = index
                        index += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    scalars.append(contentsOf: Array(String(scalar).utf8))
                default: throw fail("invalid escape")
                }
            default:
                if byte < 0x20 { throw fail("control character in string") }
                scalars.append(byte)
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("unexpected end of data") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Hex.value(of: bytes[index]) else { throw fail("invalid \\u escape") }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }
}
