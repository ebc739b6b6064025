import ArgumentParser
import NexMirrorCore

struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the X-Nexudus-Hook-Signature of the body read from standard input.",
        discussion: """
            Signs exactly the bytes given (no newline is added or removed), the way Nexudus does:
            HMAC-SHA256 over the ASCII-folded body and secret, upper-case hex.

            Example:
              printf '%s' "$BODY" | nexmirror sign --secret-file nexmirror.secret
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions

    func run() async throws {
        let key = try secret.signingSecret(database: database)
        print(NexudusSignature.sign(body: Terminal.readAllStandardInput(), secret: key))
    }
}
