import Crypto
import NexMirrorCore

/// What is known of the subjects being erased: their ids, and the personal values found in
/// their deliveries (names, e-mails, phones as Nexudus sent them).
public struct ErasureSubjects: Sendable {
    public var ids: Set<Int64>
    /// Values erased wherever they appear in a delivery that references a subject.
    public var values: Set<String> = []
    /// Values that identify a subject on their own (e-mails, phones): also erased from
    /// deliveries that do not reference it.
    public var identifying: Set<String> = []

    public init(ids: Set<Int64>, values: Set<String> = [], identifying: Set<String> = []) {
        self.ids = ids
        self.values = values
        self.identifying = identifying
    }

    /// Adds what an erasure of one delivery found.
    public mutating func learn(from erased: ErasedBody) {
        values.formUnion(erased.values)
        identifying.formUnion(erased.identifying)
    }
}

/// A delivery body with a subject's personal data replaced by JSON `null`.
public struct ErasedBody: Sendable, Equatable {
    public let body: [UInt8]
    public let sha256: String
    /// Names of the fields set to null (no values: they may be printed).
    public let fields: [String]
    /// Personal values the body held, to erase from the subject's other deliveries.
    let values: Set<String>
    let identifying: Set<String>
}

/// Rewrites one delivery body so that it holds none of the subjects' personal data, keeping
/// every other byte: ids, times, amounts and flags stay exactly as received, so the replica's
/// numbers and the reports do not change. Pure: the stores decide which bodies to pass.
public enum BodyEraser {
    /// The erased body, or nil when the body holds nothing of the subjects.
    public static func erase(
        _ body: [UInt8], action: WebhookAction, entityType: String?, subjects: ErasureSubjects
    ) -> ErasedBody? {
        guard let decoded = try? DeliveryBody.decode(body, for: action) else {
            return mask(body, subjects: subjects)
        }
        let dto = decoded.dto
        let fields = dto.fields
        var erased: [DTO.Field] = []
        var values: Set<String> = []
        var identifying: Set<String> = []

        let own = entityType == PersonalData.subjectKind && decoded.entityId.map(subjects.ids.contains) == true
        let references = own ? [] : PersonalData.references.filter { reference in
            if let id = try? dto.int64(reference.field) { return subjects.ids.contains(id) }
            return ((try? dto.int64Array(reference.field)) ?? []).contains(where: subjects.ids.contains)
        }
        let email = own ? (try? dto.string("Email")) ?? nil : nil
        var searched = references.isEmpty ? subjects.identifying : subjects.values.union(subjects.identifying)

        for field in fields where field.kind != .null {
            let personal = own
                ? !PersonalData.keptInSubject.contains(field.name)
                : references.contains { PersonalData.describes(field.name, $0) }
            guard personal else { continue }
            erased.append(field)
            // An administrator's e-mail in the subject's own record is erased there, but it is
            // not the subject's value to hunt for elsewhere.
            if own, field.name == PersonalData.updatedBy, Self.text(body, field)?.lowercased() != email?.lowercased() {
                continue
            }
            for text in strings(in: body, field) {
                values.insert(text)
                if own, PersonalData.identifyingEverywhere.contains(field.name) { identifying.insert(text) }
            }
        }
        if own, let email { values.insert(email); identifying.insert(email) }
        // A value this body names is erased wherever else it appears in it (a `ToStringText`
        // that repeats the full name).
        searched.formUnion(values)
        searched = searched.filter { $0.utf8.count >= PersonalData.shortestSearchedValue }
        if !searched.isEmpty {
            let kept = Set(PersonalData.references.map(\.field)).union(["Id", "UniqueId"])
            for field in fields where field.kind == .string || field.kind == .array || field.kind == .object {
                guard !kept.contains(field.name), !erased.contains(where: { $0.value == field.value }) else { continue }
                if strings(in: body, field).contains(where: { text in searched.contains { text.contains($0) } }) {
                    erased.append(field)
                }
            }
        }
        guard !erased.isEmpty else { return nil }
        let rewritten = replacingWithNull(body, erased.map(\.value))
        return ErasedBody(
            body: rewritten, sha256: sha256(rewritten), fields: erased.map(\.name),
            values: values, identifying: identifying)
    }

    /// A body that is not a DTO (a quarantined delivery) has no fields to null: each occurrence
    /// of a subject's value is overwritten with `*`, byte for byte.
    static func mask(_ body: [UInt8], subjects: ErasureSubjects) -> ErasedBody? {
        let masked = maskOccurrences(body, of: subjects.values.union(subjects.identifying))
        guard masked != body else { return nil }
        return ErasedBody(body: masked, sha256: sha256(masked), fields: [], values: [], identifying: [])
    }

    /// Overwrites every occurrence of each value (long enough to identify) with `*`.
    public static func maskOccurrences(_ bytes: [UInt8], of values: Set<String>) -> [UInt8] {
        var result = bytes
        for value in values where value.utf8.count >= PersonalData.shortestSearchedValue {
            let needle = Array(value.utf8)
            var index = 0
            while index + needle.count <= result.count {
                if result[index] == needle[0], Array(result[index..<(index + needle.count)]) == needle {
                    result.replaceSubrange(index..<(index + needle.count), with: repeatElement(UInt8(ascii: "*"), count: needle.count))
                    index += needle.count
                } else {
                    index += 1
                }
            }
        }
        return result
    }

    public static func sha256(_ bytes: [UInt8]) -> String { Hex.encodeLower(SHA256.hash(data: bytes)) }

    private static func text(_ body: [UInt8], _ field: DTO.Field) -> String? {
        guard field.kind == .string, case .string(let text)? = try? JSONParser.parse(body[field.value]) else { return nil }
        return text
    }

    /// The strings in a field's value, nested ones included (a custom field's `Value`).
    private static func strings(in body: [UInt8], _ field: DTO.Field) -> [String] {
        guard field.kind == .string || field.kind == .array || field.kind == .object,
              let value = try? JSONParser.parse(body[field.value]) else { return [] }
        var found: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .string(let text) where !text.isEmpty: found.append(text)
            case .array(let elements): elements.forEach(walk)
            case .object(let members): members.values.forEach(walk)
            default: break
            }
        }
        walk(value)
        return found
    }

    private static func replacingWithNull(_ body: [UInt8], _ ranges: [Range<Int>]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(body.count)
        var index = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.lowerBound >= index {
            result.append(contentsOf: body[index..<range.lowerBound])
            result.append(contentsOf: "null".utf8)
            index = range.upperBound
        }
        result.append(contentsOf: body[index...])
        return result
    }
}
