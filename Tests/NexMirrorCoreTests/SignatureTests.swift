import Foundation
import NexudusFixtures
import Testing
@testable import NexMirrorCore

@Suite struct SignatureTests {
    @Test func everyFixtureSignatureVerifies() {
        #expect(NexudusFixtures.signed.count >= 32)
        for (file, signature) in NexudusFixtures.signed {
            let outcome = NexudusSignature.verify(
                header: signature, body: NexudusFixtures.body(file), secrets: [NexudusFixtures.secret])
            #expect(outcome.isAccepted, "\(file): \(outcome)")
        }
    }

    @Test func signingReproducesEveryFixtureHeader() {
        for (file, signature) in NexudusFixtures.signed {
            #expect(NexudusSignature.sign(body: NexudusFixtures.body(file), secret: NexudusFixtures.secret) == signature, "\(file)")
        }
    }

    @Test func nonASCIIBodiesMatchOnlyInFoldedForm() {
        let outcome = NexudusSignature.verify(
            header: NexudusFixtures.signature("emoji-name"),
            body: NexudusFixtures.body("emoji-name"), secrets: [NexudusFixtures.secret])
        #expect(outcome == .matchedASCIIFolded(secretIndex: 0))
    }

    @Test func emojiFoldsToTwoQuestionMarks() {
        #expect(NexudusSignature.asciiFolded("é😀a") == Array("???a".utf8))
    }

    /// The folding works on bytes; it must equal the definition: decode to a string (invalid
    /// UTF-8 repaired), then one `?` per UTF-16 code unit >= 0x80.
    @Test func foldingBytesEqualsFoldingTheDecodedUTF16() {
        func definition(_ bytes: [UInt8]) -> [UInt8] {
            String(decoding: bytes, as: UTF8.self).utf16.map { $0 < 0x80 ? UInt8($0) : 0x3F }
        }
        var generator = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [
            Array("a\"{".utf8), Array("é".utf8), Array("😀".utf8), Array("€".utf8), [0xFF], [0xC3], [0xE2, 0x82],
            [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x80], [0xF4, 0x90, 0x80, 0x80],
        ]
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                bytes += pieces.randomElement(using: &generator)!
            }
            #expect(NexudusSignature.asciiFolded(bytes) == definition(bytes), "\(bytes)")
        }
    }

    @Test func asciiBodyMatchesRawBytes() {
        let (file, signature) = NexudusFixtures.signed.first { $0.name == "CoworkerInvoicePaid" }!
        let outcome = NexudusSignature.verify(header: signature, body: NexudusFixtures.body(file), secrets: [NexudusFixtures.secret])
        #expect(outcome == .matchedRawBytes(secretIndex: 0))
    }

    @Test func oneFlippedByteIsAMismatch() {
        let (file, signature) = NexudusFixtures.signed[0]
        var body = NexudusFixtures.body(file)
        body[body.count / 2] ^= 0x01
        #expect(NexudusSignature.verify(header: signature, body: body, secrets: [NexudusFixtures.secret]) == .mismatch)
    }

    @Test func wrongSecretIsAMismatch() {
        let (file, signature) = NexudusFixtures.signed[0]
        #expect(NexudusSignature.verify(header: signature, body: NexudusFixtures.body(file), secrets: ["s3cret-Nexudus"]) == .mismatch)
    }

    @Test func truncatedHeaderIsMalformed() {
        let (file, signature) = NexudusFixtures.signed[0]
        let outcome = NexudusSignature.verify(
            header: String(signature.dropLast(2)), body: NexudusFixtures.body(file), secrets: [NexudusFixtures.secret])
        guard case .malformedHeader(let detail) = outcome else {
            Issue.record("expected malformed, got \(outcome)")
            return
        }
        #expect(detail.contains("62"))
    }

    @Test func missingOrEmptyHeaderIsMissing() {
        let body = NexudusFixtures.body("BookingCreate")
        #expect(NexudusSignature.verify(header: nil, body: body, secrets: [NexudusFixtures.secret]) == .missingHeader)
        #expect(NexudusSignature.verify(header: "  ", body: body, secrets: [NexudusFixtures.secret]) == .missingHeader)
    }

    @Test func lowerCaseHexIsAccepted() {
        let (file, signature) = NexudusFixtures.signed[0]
        #expect(NexudusSignature.verify(
            header: signature.lowercased(), body: NexudusFixtures.body(file), secrets: [NexudusFixtures.secret]).isAccepted)
    }

    @Test func sha256PrefixIsRejectedAsMalformed() {
        let (file, signature) = NexudusFixtures.signed[0]
        let outcome = NexudusSignature.verify(
            header: "sha256=" + signature, body: NexudusFixtures.body(file), secrets: [NexudusFixtures.secret])
        guard case .malformedHeader(let detail) = outcome else {
            Issue.record("expected malformed, got \(outcome)")
            return
        }
        #expect(detail.contains("sha256="))
    }

    @Test func anyRotatedSecretIsAccepted() {
        let (file, signature) = NexudusFixtures.signed[0]
        let outcome = NexudusSignature.verify(
            header: signature, body: NexudusFixtures.body(file), secrets: ["old-secret", NexudusFixtures.secret])
        #expect(outcome == .matchedRawBytes(secretIndex: 1) || outcome == .matchedASCIIFolded(secretIndex: 1))
    }

    @Test func utf8SignedBodyIsNotNexudusForm() {
        // A sender that signs the UTF-8 bytes of a non-ASCII body without folding still verifies
        // through the raw-bytes path when the key is folded the same way.
        let body = Array(#"[{"Id":1,"FullName":"José"}]"#.utf8)
        let key = Array("secret".utf8)
        let header = HMACReference.hex(key: key, message: body)
        #expect(NexudusSignature.verify(header: header, body: body, secrets: ["secret"]) == .matchedRawBytes(secretIndex: 0))
    }
}

import Crypto

enum HMACReference {
    static func hex(key: [UInt8], message: [UInt8]) -> String {
        Hex.encodeUpper(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}

/// The strings the event log, the rejection table and the metrics store are SPEC names.
@Suite struct SignatureFormTests {
    @Test func aMatchNamesTheFormStoredInTheLog() {
        #expect(NexudusSignature.Outcome.matchedRawBytes(secretIndex: 0).form == .raw)
        #expect(NexudusSignature.Outcome.matchedASCIIFolded(secretIndex: 1).form == .asciiFolded)
        #expect(NexudusSignature.Outcome.mismatch.form == nil)
        #expect(NexudusSignature.Outcome.matchedASCIIFolded(secretIndex: 0).reason == "ascii-folded")
        #expect(SignatureForm.allCases.map(\.rawValue) == ["raw", "ascii-folded", "unsigned", "imported", "api", "api-404"])
        #expect(DeliveryStatus.allCases.map(\.rawValue) == ["ok", "quarantined"])
    }
}
