/// The DTO inside a webhook body (`[ { … } ]`) or a REST API record (`{ … }`, what
/// `nexmirror sync` fetches), with what the event log records about it.
public struct DeliveryBody: Sendable {
    public let dto: DTO
    /// Byte range of the DTO object inside the body, so the replica keeps its exact text.
    public let dtoRange: Range<Int>
    public let entityId: Int64?
    public let updatedOn: Timestamp?

    /// Why a signed body cannot be folded; the text is what the operator sees in `events`.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSON(JSONSyntaxError)
        case notAnArray(found: String)
        case elementCount(Int)
        case notAnObject(found: String)
        case missingId
        case field(DTO.FieldError)

        public var description: String {
            switch self {
            case .notJSON(let error): "body is not JSON: \(error)"
            case .notAnArray(let found): "body is a JSON \(found), expected an array holding one DTO"
            case .elementCount(let count): "body array holds \(count) elements, expected exactly one DTO"
            case .notAnObject(let found): "body array holds a JSON \(found), expected a DTO object"
            case .missingId: "DTO has no Id"
            case .field(let error): error.description
            }
        }
    }

    /// Decodes a body for `action`. Actions of uncertain DTO type may omit `Id`; the others may
    /// not. The whole body is validated, but only the DTO's member positions are kept: fields are
    /// decoded when a projection reads them.
    ///
    /// Both shapes are read: the webhook's array of one DTO and the API's single object. With
    /// `requireArray` (what Nexudus POSTs, SPEC §3) a bare object is a problem.
    public static func decode(
        _ body: [UInt8], for action: WebhookAction, requireArray: Bool = false
    ) throws(Problem) -> DeliveryBody {
        let scanned: Result<JSONScan, JSONSyntaxError> = body.withUnsafeBufferPointer { bytes in
            Result { () throws(JSONSyntaxError) in try JSONParser.scan(bytes) }
        }
        let scan: JSONScan
        do {
            scan = try scanned.get()
        } catch {
            throw .notJSON(error)
        }
        let dtoRange: Range<Int>
        if let objectRange = scan.objectRange, !requireArray {
            dtoRange = objectRange
        } else {
            guard scan.kind == .array else { throw .notAnArray(found: scan.kind.typeName) }
            guard scan.elements.count == 1 else { throw .elementCount(scan.elements.count) }
            guard scan.elements[0].kind == .object else { throw .notAnObject(found: scan.elements[0].kind.typeName) }
            dtoRange = scan.elements[0].range
        }
        let dto = DTO(body: body, members: scan.firstElementMembers)
        let id = try field { () throws(DTO.FieldError) in try dto.int64("Id") }
        if id == nil && action.change != .notify { throw .missingId }
        let updatedOn = try field { () throws(DTO.FieldError) in try dto.timestamp("UpdatedOn") }
        return DeliveryBody(dto: dto, dtoRange: dtoRange, entityId: id, updatedOn: updatedOn)
    }

    /// A badly typed field keeps its own reason (`field Id: expected an integer, …`).
    private static func field<T>(_ read: () throws(DTO.FieldError) -> T) throws(Problem) -> T {
        do {
            return try read()
        } catch {
            throw .field(error)
        }
    }
}

/// A Nexudus DTO: PascalCase members, read with typed accessors that treat a missing member and
/// `null` alike and reject a value of the wrong type.
///
/// It keeps the body's bytes and where each member lies in them; a value is decoded only when
/// asked for, straight from its bytes. A DTO has 40 or more members and a projection reads about
/// ten, so this is most of the cost of folding a delivery.
public struct DTO: Sendable {
    private let body: [UInt8]
    private let members: [JSONMember]
    /// Json.NET never escapes a member name; when a body does, such names are compared decoded.
    private let hasEscapedNames: Bool

    init(body: [UInt8], members: [JSONMember]) {
        self.body = body
        self.members = members
        hasEscapedNames = members.contains(where: \.keyEscaped)
    }

    public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let expected: String
        public let found: String
        public var description: String { "field \(field): expected \(expected), found \(found)" }
    }

    /// A member of the DTO: its name (decoded) and where its value lies in the body.
    public struct Field: Sendable {
        public let name: String
        public let value: Range<Int>
        public let kind: JSONKind
    }

    /// Every member in body order, for rewriting values in place (erasure) without
    /// re-serialising the body.
    public var fields: [Field] {
        members.map { member in
            let name = member.keyEscaped
                ? key(of: member) ?? ""
                : String(decoding: body[member.key], as: UTF8.self)
            return Field(name: name, value: member.value, kind: member.kind)
        }
    }

    /// The member's value, decoded; nil when it is missing.
    public subscript(field: String) -> JSONValue? { member(field).map(value) }

    /// Like a dictionary built from the object, the last member of a repeated name wins.
    private func member(_ field: String) -> JSONMember? {
        body.withUnsafeBufferPointer { bytes in
            var name = field
            let found = name.withUTF8 { name in
                members.last { $0.key.count == name.count && !$0.keyEscaped && Self.equal(bytes, $0.key, name) }
            }
            guard found == nil, hasEscapedNames else { return found }
            return members.last { $0.keyEscaped && key(of: $0) == field }
        }
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        var offset = 0
        for index in range {
            if bytes[index] != name[offset] { return false }
            offset += 1
        }
        return true
    }

    private func key(of member: JSONMember) -> String? {
        guard case .string(let key)? = try? JSONParser.parse(body[(member.key.lowerBound - 1)..<(member.key.upperBound + 1)])
        else { return nil }
        return key
    }

    private func value(_ member: JSONMember) -> JSONValue {
        // The scan validated the whole body, so this parse cannot fail.
        (try? JSONParser.parse(body[member.value])) ?? .null
    }

    private func present(_ field: String) -> JSONMember? {
        guard let member = member(field), member.kind != .null else { return nil }
        return member
    }

    /// The value's bytes: a number's text, or a string's content between its quotes when it has
    /// no escapes (nil otherwise).
    private func plainBytes<T>(_ member: JSONMember, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        self.body.withUnsafeBufferPointer { bytes in
            if member.valueEscaped { return nil }
            let range = member.kind == .string ? (member.value.lowerBound + 1)..<(member.value.upperBound - 1) : member.value
            return body(UnsafeBufferPointer(rebasing: bytes[range]))
        }
    }

    private func mismatch(_ field: String, _ expected: String, _ member: JSONMember) -> FieldError {
        FieldError(field: field, expected: expected, found: Self.describe(value(member)))
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "string \"\(text.prefix(40))\""
        case .number(let text): "number \(text)"
        case let other: other.typeName
        }
    }

    public func int64(_ field: String) throws(FieldError) -> Int64? {
        guard let member = present(field) else { return nil }
        guard member.kind == .number, let number = plainBytes(member, Self.integer) ?? nil else {
            throw mismatch(field, "an integer", member)
        }
        return number
    }

    /// A JSON number that is an integer in Int64's range (no fraction, no exponent).
    private static func integer(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var digits = text[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// A decimal amount; its literal text is kept in `data`, the column holds the nearest double,
    /// which prints back as the same decimal for amounts of up to 15 significant digits.
    public func amount(_ field: String) throws(FieldError) -> Double? {
        guard let member = present(field) else { return nil }
        guard member.kind == .number,
              let number = plainBytes(member, { Double(String(decoding: $0, as: UTF8.self)) }) ?? nil,
              number.isFinite  // 1e999999 is valid JSON but no amount: it would be stored as Inf
        else { throw mismatch(field, "a number", member) }
        return number
    }

    public func string(_ field: String) throws(FieldError) -> String? {
        guard let member = present(field) else { return nil }
        guard member.kind == .string else { throw mismatch(field, "a string", member) }
        if let text = plainBytes(member, { String(decoding: $0, as: UTF8.self) }) { return text }
        guard case .string(let text) = value(member) else { throw mismatch(field, "a string", member) }
        return text
    }

    public func bool(_ field: String) throws(FieldError) -> Bool? {
        guard let member = present(field) else { return nil }
        guard member.kind == .bool else { throw mismatch(field, "true or false", member) }
        return body[member.value.lowerBound] == UInt8(ascii: "t")
    }

    public func timestamp(_ field: String) throws(FieldError) -> Timestamp? {
        guard let member = present(field) else { return nil }
        guard member.kind == .string else { throw mismatch(field, "an ISO-8601 date", member) }
        let instant: Timestamp?
        if let plain = plainBytes(member, Timestamp.init(utf8:)) {
            instant = plain
        } else {
            instant = (try? string(field)).flatMap { $0 }.flatMap { Timestamp(parsing: $0) }
        }
        guard let instant else { throw mismatch(field, "an ISO-8601 date", member) }
        return instant
    }

    public func int64Array(_ field: String) throws(FieldError) -> [Int64] {
        guard let member = present(field) else { return [] }
        guard case .array(let elements) = value(member) else { throw mismatch(field, "an array of ids", member) }
        var ids: [Int64] = []
        for element in elements {
            guard case .number(let text) = element, let id = Int64(text) else {
                throw FieldError(field: field, expected: "an array of ids", found: Self.describe(element))
            }
            ids.append(id)
        }
        return ids
    }
}
