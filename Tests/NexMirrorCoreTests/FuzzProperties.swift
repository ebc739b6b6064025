// What must hold for any bytes a signed delivery may carry. Shared by the seeded mutation test
// (MutationFuzzTests) and the libFuzzer targets that scripts/fuzz builds from this same file, so
// it uses nothing from Testing; in the fuzzer build (NEXMIRROR_FUZZER) the core's sources share
// its module.
#if !NEXMIRROR_FUZZER
import NexMirrorCore
#endif

/// A broken property, with enough to reproduce it. A crash is a finding by itself.
struct FuzzViolation: Error, CustomStringConvertible {
    let description: String
}

/// One fuzzed surface: the JSON scanner, DTO decoding, timestamp parsing, the signature check.
enum FuzzTarget: String, CaseIterable, Sendable {
    case json, delivery, timestamp, signature

    func check(_ bytes: [UInt8]) throws(FuzzViolation) {
        switch self {
        case .json: try FuzzProperties.json(bytes)
        case .delivery: try FuzzProperties.delivery(bytes)
        case .timestamp: try FuzzProperties.timestamp(bytes)
        case .signature: try FuzzProperties.signature(bytes)
        }
    }
}

enum FuzzProperties {
    /// The fixtures' secret, so fixture seeds keep valid signatures.
    static let secret = "s3crét-Nexudus"
    static let actions = ["CoworkerCreate", "CoworkerInvoicePaid", "BookingDelete", "CoworkerCheckin"]
        .compactMap { ActionCatalog.action(named: $0) }

    /// The validating scan and the building parse accept the same documents, agree on the
    /// top-level type and on each array element's bytes.
    static func json(_ bytes: [UInt8]) throws(FuzzViolation) {
        let scanned = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scan(buffer) }
        }
        let parsed = Result { () throws(JSONSyntaxError) in try JSONParser.parseTopLevel(bytes) }
        switch (scanned, parsed) {
        case (.failure, .failure):
            return
        case (.success(let scan), .success(let (value, ranges))):
            guard scan.kind.typeName == value.typeName else {
                throw FuzzViolation(description: "scan says \(scan.kind.typeName), parse says \(value.typeName)")
            }
            guard case .array(let elements) = value else { return }
            guard ranges == scan.elements.map(\.range), elements.count == ranges.count else {
                throw FuzzViolation(description: "scan and parse disagree on the array's element ranges")
            }
            for (element, range) in zip(elements, ranges) {
                guard (try? JSONParser.parse(bytes[range])) == element else {
                    throw FuzzViolation(description: "element at \(range) does not reparse to itself")
                }
            }
        case (.success, .failure(let error)):
            throw FuzzViolation(description: "scan accepts what parse rejects: \(error)")
        case (.failure(let error), .success):
            throw FuzzViolation(description: "parse accepts what scan rejects: \(error)")
        }
    }

    /// A decoded body is valid JSON whose DTO range holds an object, and every typed accessor,
    /// asked for every member, agrees with the full parse or throws a field error.
    static func delivery(_ bytes: [UInt8]) throws(FuzzViolation) {
        for action in actions {
            guard let decoded = try? DeliveryBody.decode(bytes, for: action) else { continue }
            guard (try? JSONParser.parse(bytes)) != nil else {
                throw FuzzViolation(description: "decoded for \(action.name) but is not JSON")
            }
            guard case .object(let members)? = try? JSONParser.parse(bytes[decoded.dtoRange]) else {
                throw FuzzViolation(description: "DTO range \(decoded.dtoRange) is not an object")
            }
            if action.change != .notify, decoded.entityId == nil {
                throw FuzzViolation(description: "\(action.name) decoded without an Id")
            }
            let dto = decoded.dto
            for (field, value) in members {
                guard dto[field] == value else {
                    throw FuzzViolation(description: "field \(field) reads differently from the full parse")
                }
                if let id = try? dto.int64(field) {
                    guard case .number(let text) = value, Int64(text) == id else {
                        throw FuzzViolation(description: "int64(\(field)) = \(id), parse says \(value)")
                    }
                }
                if let amount = try? dto.amount(field), !amount.isFinite {
                    throw FuzzViolation(description: "amount(\(field)) = \(amount), not finite")
                }
                if let text = try? dto.string(field), value != .string(text) {
                    throw FuzzViolation(description: "string(\(field)) = \(text), parse says \(value)")
                }
                if let flag = try? dto.bool(field), value != .bool(flag) {
                    throw FuzzViolation(description: "bool(\(field)) = \(flag), parse says \(value)")
                }
                if let instant = try? dto.timestamp(field) { try roundTrips(instant, field) }
                _ = try? dto.int64Array(field)
            }
        }
    }

    /// A parsed instant prints as canonical text (28 bytes, 4-digit year, `Z`) that parses back
    /// to the same instant.
    static func timestamp(_ bytes: [UInt8]) throws(FuzzViolation) {
        guard let instant = bytes.withUnsafeBufferPointer({ Timestamp(utf8: $0) }) else { return }
        try roundTrips(instant, "input")
    }

    private static func roundTrips(_ instant: Timestamp, _ what: String) throws(FuzzViolation) {
        let text = instant.description
        guard text.utf8.count == 28, text.utf8.last == UInt8(ascii: "Z"),
              text.utf8.prefix(4).allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              Timestamp(parsing: text) == instant
        else {
            throw FuzzViolation(description: "\(what): \(instant.ticks) ticks print as \(text), which does not parse back")
        }
    }

    /// What Nexudus would send for a body always verifies, in either case of hex; a changed
    /// digit never does; the ASCII folding is ASCII; any header text is answered without a crash.
    static func signature(_ bytes: [UInt8]) throws(FuzzViolation) {
        let header = NexudusSignature.sign(body: bytes, secret: secret)
        guard NexudusSignature.verify(header: header, body: bytes, secrets: [secret]).isAccepted,
              NexudusSignature.verify(header: header.lowercased(), body: bytes, secrets: ["other", secret]).isAccepted
        else { throw FuzzViolation(description: "its own signature \(header) does not verify") }
        var changed = Array(header.utf8)
        changed[0] = changed[0] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        if NexudusSignature.verify(header: String(decoding: changed, as: UTF8.self), body: bytes, secrets: [secret]).isAccepted {
            throw FuzzViolation(description: "a signature with a changed digit verifies")
        }
        guard NexudusSignature.asciiFolded(bytes).allSatisfy({ $0 < 0x80 }) else {
            throw FuzzViolation(description: "the ASCII folding holds a byte >= 0x80")
        }
        let asHeader = String(decoding: bytes.prefix(200), as: UTF8.self)
        let outcome = NexudusSignature.verify(header: asHeader, body: bytes, secrets: [secret])
        if outcome.isAccepted, asHeader.lowercased().filter({ !$0.isWhitespace }) != header.lowercased() {
            throw FuzzViolation(description: "an arbitrary header verifies: \(outcome)")
        }
    }
}
