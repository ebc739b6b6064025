import Foundation

/// SplitMix64: a tiny generator whose whole state is the seed, so a failing run is replayed
/// from the seed alone.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations in the style of libFuzzer's (bit flips, byte changes, erasures, copies, splices,
/// dictionary tokens), applied to a seed corpus of the fixtures and hand-written hostile bodies.
struct FuzzMutator {
    var generator: SeededGenerator
    let corpus: [[UInt8]]

    /// Tokens that reach the parser's, the DTO's and the timestamp reader's corners.
    static let dictionary: [[UInt8]] = [
        "[", "]", "{", "}", "\"", ",", ":", "\\", "\\u", "\\uD800", "\\uDC00", "\\uD83D\\uDE00", "\\u0000",
        "1e999999", "-1e999999", "-0", "0.0000001", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "true", "false", "null", "\"Id\":", "\"UpdatedOn\":", "\"TotalAmount\":",
        "\"TeamMembers\":[1,2]", "2026-03-01T10:00:00Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-18:00",
        "2024-02-29", "T23:59:59.99999999", "+14:00", "-1830", "é", "😀",
    ].map { Array($0.utf8) } + [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x00]]

    /// Bodies written to break a parser, beside the fixtures.
    static let hostileSeeds: [[UInt8]] = [
        Array(repeating: UInt8(ascii: "["), count: 30_000) + Array(repeating: UInt8(ascii: "]"), count: 30_000),
        Array(("[{\"Id\":1,\"X\":" + String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600) + "}]").utf8),
        Array(#"[{"Id":1e999999,"TotalAmount":1e999999,"UpdatedOn":"2026-01-01T00:00:00Z"}]"#.utf8),
        Array(#"[{"Id":2,"FullName":"\uD800","Email":"\uDC00\uD800x","UpdatedOn":"0001-01-01T00:00:00+01:00"}]"#.utf8),
        Array(#"[{"Id":3,"UpdatedOn":"9999-12-31T23:30:00-05:00","TeamMembers":[1,-0,1e2]}]"#.utf8),
        [0x5B, 0x7B, 0x22, 0x49, 0x64, 0x22, 0x3A, 0x34, 0x2C, 0x22, 0x4E, 0x22, 0x3A, 0x22, 0xFF, 0xC0, 0x80, 0x22, 0x7D, 0x5D],
        Array("2026-03-01T10:00:00.12345678+05:30".utf8),
    ]

    init(seed: UInt64, corpus: [[UInt8]]) {
        generator = SeededGenerator(seed: seed)
        self.corpus = corpus
    }

    /// One input: a corpus entry with one to four stacked mutations.
    mutating func next() -> [UInt8] {
        var bytes = corpus.randomElement(using: &generator)!
        for _ in 0..<Int.random(in: 1...4, using: &generator) { mutate(&bytes) }
        return bytes
    }

    private mutating func position(in bytes: [UInt8], end: Bool = false) -> Int {
        Int.random(in: 0...(bytes.count - (end || bytes.isEmpty ? 0 : 1)), using: &generator)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        switch Int.random(in: 0..<8, using: &generator) {
        case 0 where !bytes.isEmpty:
            bytes[position(in: bytes)] ^= 1 << UInt8.random(in: 0...7, using: &generator)
        case 1 where !bytes.isEmpty:
            bytes[position(in: bytes)] = UInt8.random(in: 0...255, using: &generator)
        case 2 where !bytes.isEmpty:
            let start = position(in: bytes)
            bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...16, using: &generator)))
        case 3:
            bytes.removeSubrange(position(in: bytes, end: true)...)
        case 4 where !bytes.isEmpty:
            let start = position(in: bytes)
            let slice = bytes[start..<min(bytes.count, start + Int.random(in: 1...64, using: &generator))]
            bytes.insert(contentsOf: slice, at: position(in: bytes, end: true))
        case 5:
            let other = corpus.randomElement(using: &generator)!
            let cut = position(in: other, end: true)
            bytes = Array(bytes.prefix(position(in: bytes, end: true))) + other[cut...]
        default:
            let token = Self.dictionary.randomElement(using: &generator)!
            let at = position(in: bytes, end: true)
            if Bool.random(using: &generator) || bytes.isEmpty {
                bytes.insert(contentsOf: token, at: at)
            } else {
                bytes.replaceSubrange(at..<min(bytes.count, at + token.count), with: token)
            }
        }
    }
}
