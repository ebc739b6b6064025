import ArgumentParser
import NexMirrorCore

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a signature check: which form matched, or the likeliest reason none did.",
        discussion: """
            Reads the body from --body (exact bytes) or standard input, and checks the header \
            value against every configured secret, raw bytes first, then the ASCII-folded form.

            Example:
              nexmirror verify --signature 5A7495C1… --body BookingDelete.json
            """)

    @Option(help: "The X-Nexudus-Hook-Signature value received.")
    var signature: String

    @Option(help: ArgumentHelp("File with the exact body bytes (default: standard input).", valueName: "file"))
    var body: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions

    func run() async throws {
        let bytes = try body.map(Terminal.readFile) ?? Terminal.readAllStandardInput()
        guard let secrets = try secret.load(database: database)?.secrets else {
            throw SecretError.noneToVerify(defaultFile: SecretOptions.defaultFile(for: database))
        }
        let outcome = NexudusSignature.verify(header: signature, body: bytes, secrets: secrets)
        let which = secrets.count > 1 ? " (secret \(index(outcome) + 1) of \(secrets.count))" : ""
        switch outcome {
        case .matchedRawBytes:
            print("valid: matches the raw body bytes\(which)")
        case .matchedASCIIFolded:
            print("valid: matches the ASCII-folded body (non-ASCII characters as '?', as .NET signs)\(which)")
        case .missingHeader:
            throw VerifyError.emptySignature
        case .malformedHeader(let detail):
            throw VerifyError.malformed(detail: detail)
        case .mismatch:
            throw VerifyError.noMatch(diagnosis: diagnose(bytes, secrets))
        }
    }

    private func index(_ outcome: NexudusSignature.Outcome) -> Int {
        switch outcome {
        case .matchedRawBytes(let index), .matchedASCIIFolded(let index): index
        default: 0
        }
    }

    /// Tries the usual accidents to name the likeliest cause.
    private func diagnose(_ bytes: [UInt8], _ secrets: [String]) -> String {
        var trimmed = bytes
        while let last = trimmed.last, last == 0x0A || last == 0x0D { trimmed.removeLast() }
        if trimmed.count != bytes.count,
           NexudusSignature.verify(header: signature, body: trimmed, secrets: secrets).isAccepted {
            return "the body has a trailing newline the sender did not sign (an editor may have added it)"
        }
        if let parsed = try? JSONParser.parse(bytes), case .array = parsed {
            return "no configured secret signs this body: the secret differs from the one in Nexudus, "
                + "or the body was altered (re-serialised JSON never reproduces Json.NET's bytes)"
        }
        return "no configured secret signs this body, and the body is not a JSON array as Nexudus sends; "
            + "check that --body holds the exact bytes received"
    }
}
