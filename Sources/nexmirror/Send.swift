import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NexMirrorCore

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign and POST a delivery the way Nexudus does, to try a deployment.",
        discussion: """
            Without --body, sends a fresh sample DTO for the action (a new Id each time). The \
            body is signed with the same secret lookup as `serve` and POSTed to \
            <url>/webhooks/<ACTION> with X-Nexudus-Hook-Signature. Prints the answer; exits 1 \
            unless it is 2xx.

            Examples:
              nexmirror send CoworkerCreate
              nexmirror send BookingUpdate --body booking.json --url https://mirror.example.org
            """)

    @Argument(help: "Action name or id, as listed by `nexmirror actions`.")
    var action: String

    @Option(help: "Base URL of the receiver (a full …/webhooks/ACTION URL is accepted too).")
    var url = "http://127.0.0.1:8080"

    @Option(help: ArgumentHelp("Send this file's exact bytes instead of a sample.", valueName: "file"))
    var body: String?

    @Flag(help: "Send without a signature header.")
    var unsigned = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions

    private var webhookAction: WebhookAction {
        get throws {
            guard let found = ActionCatalog.action(named: action) else {
                throw ValidationError("unknown action '\(action)'; see `nexmirror actions`")
            }
            return found
        }
    }

    func validate() throws { _ = try webhookAction }

    func run() async throws {
        let webhookAction = try self.webhookAction
        let bytes = try body.map(Terminal.readFile) ?? SampleBody.make(for: webhookAction)
        var request = HTTPClientRequest(url: Self.webhookURL(base: url, action: webhookAction.name))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "nexmirror-send")
        if !unsigned {
            let key = try secret.signingSecret(database: database)
            request.headers.add(name: NexudusSignature.headerName, value: NexudusSignature.sign(body: bytes, secret: key))
        }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        // One attempt, like a single Nexudus delivery: a refused connection is reported at once.
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(30)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let status: UInt
        let answer: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(35))
            status = response.status.code
            answer = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw SendError.unreachable(url: url, reason: "\(error)")
        }
        print("\(status) \(String(buffer: answer))")
        guard (200..<300).contains(status) else { throw ExitCode.failure }
    }

    /// `--url` is the receiver's base, but the full webhook URL given to Nexudus
    /// (`…/webhooks/CoworkerCreate`) is accepted too: its `/webhooks/…` tail is replaced.
    static func webhookURL(base: String, action: String) -> String {
        var root = base.trimmingSuffix("/")
        if let range = root.range(of: "/webhooks/", options: .backwards) {
            root = String(root[..<range.lowerBound])
        } else if root.hasSuffix("/webhooks") {
            root = String(root.dropLast("/webhooks".count))
        }
        return root + "/webhooks/\(action)"
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
