/// The DTO inside a webhook body (`[ { … } ]`), with what the event log records about it.
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
    /// not.
    public static func decode(_ body: [UInt8], for action: WebhookAction) throws(Problem) -> DeliveryBody {
        let parsed: (value: JSONValue, elementRanges: [Range<Int>])
        do {
            parsed = try JSONParser.parseTopLevel(body)
        } catch {
            throw .notJSON(error)
        }
        guard case .array(let elements) = parsed.value else { throw .notAnArray(found: parsed.value.typeName) }
        guard elements.count == 1 else { throw .elementCount(elements.count) }
        guard case .object(let members) = elements[0] else { throw .notAnObject(found: elements[0].typeName) }
        let dto = DTO(members)
        do {
            let id = try dto.int64("Id")
            if id == nil && action.change != .notify { throw Problem.missingId }
            return DeliveryBody(
                dto: dto, dtoRange: parsed.elementRanges[0], entityId: id, updatedOn: try dto.timestamp("UpdatedOn"))
        } catch let error as DTO.FieldError {
            throw .field(error)
        } catch let error as Problem {
            throw error
        } catch {
            throw .missingId
        }
    }
}

/// A Nexudus DTO: PascalCase members, read with typed accessors that treat a missing member and
/// `null` alike and reject a value of the wrong type.
public struct DTO: Sendable {
    public let members: [String: JSONValue]

    public init(_ members: [String: JSONValue]) { self.members = members }

    public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let expected: String
        public let found: String
        public var description: String { "field \(field): expected \(expected), found \(found)" }
    }

    public subscript(field: String) -> JSONValue? { members[field] }

    private func present(_ field: String) -> JSONValue? {
        guard let value = members[field], value != .null else { return nil }
        return value
    }

    private func mismatch(_ field: String, _ expected: String, _ value: JSONValue) -> FieldError {
        let found: String
        switch value {
        case .string(let text): found = "string \"\(text.prefix(40))\""
        case .number(let text): found = "number \(text)"
        default: found = value.typeName
        }
        return FieldError(field: field, expected: expected, found: found)
    }

    public func int64(_ field: String) throws(FieldError) -> Int64? {
        guard let value = present(field) else { return nil }
        guard case .number(let text) = value, let number = Int64(text) else {
            throw mismatch(field, "an integer", value)
        }
        return number
    }

    /// A decimal amount; its literal text is kept in `data`, the column holds the nearest double,
    /// which prints back as the same decimal for amounts of up to 15 significant digits.
    public func amount(_ field: String) throws(FieldError) -> Double? {
        guard let value = present(field) else { return nil }
        guard case .number(let text) = value, let number = Double(text) else {
            throw mismatch(field, "a number", value)
        }
        return number
    }

    public func string(_ field: String) throws(FieldError) -> String? {
        guard let value = present(field) else { return nil }
        guard case .string(let text) = value else { throw mismatch(field, "a string", value) }
        return text
    }

    public func bool(_ field: String) throws(FieldError) -> Bool? {
        guard let value = present(field) else { return nil }
        guard case .bool(let flag) = value else { throw mismatch(field, "true or false", value) }
        return flag
    }

    public func timestamp(_ field: String) throws(FieldError) -> Timestamp? {
        guard let value = present(field) else { return nil }
        guard case .string(let text) = value, let instant = Timestamp(parsing: text) else {
            throw mismatch(field, "an ISO-8601 date", value)
        }
        return instant
    }

    public func int64Array(_ field: String) throws(FieldError) -> [Int64] {
        guard let value = present(field) else { return [] }
        guard case .array(let elements) = value else { throw mismatch(field, "an array of ids", value) }
        var ids: [Int64] = []
        for element in elements {
            guard case .number(let text) = element, let id = Int64(text) else {
                throw mismatch(field, "an array of ids", element)
            }
            ids.append(id)
        }
        return ids
    }
}
