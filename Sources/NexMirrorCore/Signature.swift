import Crypto

/// The `X-Nexudus-Hook-Signature` scheme: HMAC-SHA256 over the body, keyed with the shared
/// secret, both encoded by .NET `ASCIIEncoding` (every UTF-16 code unit ≥ 0x80 becomes `?`),
/// sent as 64 upper-case hex characters.
public enum NexudusSignature {
    public static let headerName = "X-Nexudus-Hook-Signature"

    /// How a signature was checked, for logs, `verify` and the event log.
    public enum Outcome: Sendable, Equatable {
        /// Matched the HMAC of the bytes exactly as received.
        case matchedRawBytes(secretIndex: Int)
        /// Matched the HMAC of the ASCII-folded body (Nexudus's form for non-ASCII text).
        case matchedASCIIFolded(secretIndex: Int)
        case missingHeader
        /// The header is not 64 hex characters; `detail` says what it looks like instead.
        case malformedHeader(detail: String)
        /// Well-formed, but no configured secret produced it from either form of the body.
        case mismatch

        public var isAccepted: Bool {
            switch self {
            case .matchedRawBytes, .matchedASCIIFolded: true
            default: false
            }
        }

        /// The form that matched, as the event log records it; nil when none did.
        public var form: SignatureForm? {
            switch self {
            case .matchedRawBytes: .raw
            case .matchedASCIIFolded: .asciiFolded
            default: nil
            }
        }

        /// A short machine-friendly reason, for the rejection table and metrics.
        public var reason: String {
            switch self {
            case .matchedRawBytes: SignatureForm.raw.rawValue
            case .matchedASCIIFolded: SignatureForm.asciiFolded.rawValue
            case .missingHeader: "missing-header"
            case .malformedHeader: "malformed-header"
            case .mismatch: "mismatch"
            }
        }
    }

    /// .NET `ASCIIEncoding.GetBytes`: decodes UTF-8 (invalid sequences become U+FFFD) and turns
    /// every UTF-16 code unit ≥ 0x80 into `?`, so a surrogate pair becomes `??`.
    public static func asciiFolded<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [UInt8] {
        if bytes.allSatisfy({ $0 < 0x80 }) { return Array(bytes) }
        var folded: [UInt8] = []
        folded.reserveCapacity(bytes.count)
        // Decoded scalar by scalar; an invalid sequence counts as one U+FFFD, as when the body is
        // decoded into a .NET or Swift string.
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar) where scalar.value < 0x80: folded.append(UInt8(scalar.value))
            case .scalarValue(let scalar) where scalar.value > 0xFFFF: folded.append(contentsOf: [0x3F, 0x3F])
            case .scalarValue, .error: folded.append(0x3F)
            case .emptyInput: break decoding
            }
        }
        return folded
    }

    public static func asciiFolded(_ text: String) -> [UInt8] { asciiFolded(Array(text.utf8)) }

    /// The header value Nexudus would send for `body` with `secret`.
    public static func sign<Bytes: Collection<UInt8>>(body: Bytes, secret: String) -> String {
        let key = SymmetricKey(data: asciiFolded(secret))
        let mac = HMAC<SHA256>.authenticationCode(for: asciiFolded(body), using: key)
        return Hex.encodeUpper(Array(mac))
    }

    /// Checks a header against every secret (rotation). Each comparison is constant-time; case
    /// of the hex digits does not matter.
    public static func verify(header: String?, body: [UInt8], secrets: [String]) -> Outcome {
        Verifier(secrets: secrets).verify(header: header, body: body)
    }

    /// Secrets prepared once as HMAC keys, for a receiver that checks every delivery.
    public struct Verifier: Sendable {
        private let keys: [[UInt8]]

        public init(secrets: [String]) { keys = secrets.map { asciiFolded($0) } }

        /// The form Nexudus signs comes first: the body itself when it is ASCII, else its ASCII
        /// folding. The other form is tried after it, so a raw-signed body still matches.
        public func verify(header: String?, body: [UInt8]) -> Outcome {
            guard let header else { return .missingHeader }
            let trimmed = header.trimmingASCIIWhitespace()
            if trimmed.isEmpty { return .missingHeader }
            guard let expected = Hex.decode(trimmed), expected.count == SHA256.byteCount else {
                return .malformedHeader(detail: describeMalformed(trimmed))
            }
            guard body.contains(where: { $0 >= 0x80 }) else {
                return index(of: expected, for: body).map { .matchedRawBytes(secretIndex: $0) } ?? .mismatch
            }
            if let index = index(of: expected, for: asciiFolded(body)) { return .matchedASCIIFolded(secretIndex: index) }
            return index(of: expected, for: body).map { .matchedRawBytes(secretIndex: $0) } ?? .mismatch
        }

        private func index(of expected: [UInt8], for bytes: [UInt8]) -> Int? {
            keys.firstIndex {
                HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: bytes, using: SymmetricKey(data: $0))
            }
        }
    }

    private static func describeMalformed(_ header: String) -> String {
        if let eq = header.firstIndex(of: "=") {
            return "has a '\(header[...eq])' prefix; Nexudus sends bare hex"
        }
        let hexDigits = header.utf8.filter { Hex.value(of: $0) != nil }.count
        if hexDigits == header.utf8.count {
            return "\(header.utf8.count) hex characters, expected 64"
        }
        return "not hexadecimal (\(header.utf8.count) characters, expected 64 hex characters)"
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

/// Hexadecimal helpers; decoding accepts either case.
public enum Hex {
    private static let upperDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerDigits = Array("0123456789abcdef".utf8)

    public static func encodeUpper(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, upperDigits) }
    public static func encodeLower(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, lowerDigits) }

    private static func encode(_ bytes: some Sequence<UInt8>, _ digits: [UInt8]) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(of: utf8[index]), let low = value(of: utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
