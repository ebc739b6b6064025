/// A strict RFC 8259 parser over raw bytes. It also reports where each top-level array element
/// starts and ends, so the replica can store a DTO's exact bytes without re-serialising them.
public struct JSONParser {
    // The state and the primitives below are internal, not private: the readers of numbers and
    // strings (JSONParser+Scalars.swift) share them.
    let bytes: UnsafeBufferPointer<UInt8>
    /// False for a scan: the same checks, but strings, numbers and containers are not built.
    let building: Bool
    var index = 0
    private var depth = 0
    /// Whether the last string parsed held an escape, so readers of its raw bytes must decode it.
    var lastStringEscaped = false
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

    func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

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
}
