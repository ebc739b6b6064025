import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import NexMirrorCore
import NexMirrorStore

/// Settings of `nexmirror serve` that shape how deliveries are received.
public struct ReceiverConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    /// Accepted secrets (rotation); empty only with `--insecure-no-signature`.
    public var secrets: [String]
    public var limits: ConnectionLimits
    /// Proxies whose `X-Forwarded-For` names the client kept with a rejection (`--trusted-proxy`).
    public var trustedProxies: TrustedProxies
    /// A second listener for `/`, `/api/status` and `/metrics` (`--admin-host`/`--admin-port`).
    public var adminHost: String = "127.0.0.1"
    public var adminPort: Int?
    /// When an action counts as silent (`--silence-after`, else learned per action).
    public var silence = SilenceRule()

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 4 << 20, secrets: [String],
        limits: ConnectionLimits = .init(), trustedProxies: TrustedProxies = .none
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.secrets = secrets
        self.trustedProxies = trustedProxies
        self.limits = limits
    }

    /// Whether the receiver answers a request from its head alone, without its body: an unknown
    /// action (404) or a declared length over the limit (413). Such a request gets no
    /// `100 Continue`. Mirrors the first checks of the delivery route.
    @Sendable public func answersFromHead(_ request: HTTPRequest) -> Bool {
        guard request.method == .post, let path = request.path else { return true }
        let route = path.prefix { $0 != "?" }.split(separator: "/", omittingEmptySubsequences: false)
        guard route.count == 3, route[0].isEmpty, route[1] == "webhooks",
            ActionCatalog.action(named: String(route[2])) != nil
        else { return true }
        if let length = request.headerFields[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { return true }
        return false
    }

    public var verifiesSignatures: Bool { !secrets.isEmpty }
}

/// A request context that knows the peer's address, kept with signature rejections.
public struct ReceiverRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// The outcome body of a delivery, `{"duplicate":false,"seq":N}`, written directly: it is
/// every acknowledgement's body.
func deliveryAnswer(_ result: AppendResult) -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: "{\"duplicate\":\(result.duplicate),\"seq\":\(result.seq)}")))
}

struct ErrorAnswer: ResponseEncodable {
    let error: String
    var route: String?
}

/// Builds the router: `POST /webhooks/{action}`, `/healthz`, `/readyz`, `/metrics`. The
/// committer and the rejection recorder are services that must run beside it.
public func buildRouter(
    configuration: ReceiverConfiguration, store: any EventStore, committer: GroupCommitter,
    rejections: RejectionRecorder, metrics: ReceiverMetrics, logger: Logger
) -> Router<ReceiverRequestContext> {
    let router = Router(context: ReceiverRequestContext.self)
    let signatureHeader = HTTPField.Name(NexudusSignature.headerName)!
    let forwardedForHeader = HTTPField.Name("X-Forwarded-For")!
    let verifier = NexudusSignature.Verifier(secrets: configuration.secrets)

    router.post("/webhooks/:action") { request, context -> Response in
        let started = ContinuousClock.now
        let route = "/webhooks/\(context.parameters.get("action") ?? "")"
        guard let name = context.parameters.get("action"), let action = ActionCatalog.action(named: name) else {
            metrics.delivery(action: "unknown", outcome: .unknownAction)
            return try json(.notFound, ErrorAnswer(
                error: "unknown Nexudus action; use a name or id listed by `nexmirror actions`", route: route))
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            metrics.delivery(action: action.name, outcome: .tooLarge)
            return try json(.contentTooLarge, ErrorAnswer(
                error: "body of \(length) bytes is over the limit of \(configuration.maxBodyBytes) (--max-body-bytes)"))
        }
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: configuration.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            metrics.delivery(action: action.name, outcome: .tooLarge)
            return try json(.contentTooLarge, ErrorAnswer(
                error: "body is over the limit of \(configuration.maxBodyBytes) bytes (--max-body-bytes)"))
        }

        var signature = SignatureForm.unsigned
        if configuration.verifiesSignatures {
            let outcome = verifier.verify(header: request.headers[signatureHeader], body: body)
            guard let form = outcome.form else {
                metrics.delivery(action: action.name, outcome: .rejected)
                let remoteAddress = configuration.trustedProxies.client(
                    peer: context.remoteAddress, forwardedFor: request.headers[values: forwardedForHeader])
                logger.warning("signature rejected", metadata: [
                    "action": "\(action.name)", "reason": "\(outcome.reason)", "bytes": "\(body.count)",
                    "remote": "\(remoteAddress ?? "-")",
                ])
                let rejection = Rejection(
                    action: action.name, body: body, remoteAddress: remoteAddress, reason: outcome.reason)
                rejections.record(rejection)
                return try json(.unauthorized, ErrorAnswer(error: "signature \(outcome.reason)"))
            }
            signature = form
        }

        let delivery = NewDelivery(action: action, body: body, source: .webhook, signature: signature.rawValue)
        let result: AppendResult
        do {
            result = try await committer.append(delivery)
        } catch {
            metrics.delivery(action: action.name, outcome: .unavailable)
            logger.error("commit failed", metadata: ["action": "\(action.name)", "error": "\(error)"])
            return try json(.serviceUnavailable, ErrorAnswer(error: "event log unavailable, retry later"))
        }
        metrics.ingested(after: ContinuousClock.now - started)
        let outcome: DeliveryOutcome = result.duplicate ? .duplicate : delivery.problem == nil ? .accepted : .quarantined
        metrics.delivery(action: action.name, outcome: outcome)
        if let problem = delivery.problemForLogs, !result.duplicate {
            logger.warning("delivery quarantined", metadata: [
                "action": "\(action.name)", "seq": "\(result.seq)", "reason": "\(problem)",
            ])
        } else {
            logger.debug("delivery", metadata: [
                "action": "\(action.name)", "seq": "\(result.seq)", "duplicate": "\(result.duplicate)",
            ])
        }
        return deliveryAnswer(result)
    }

    router.get("/healthz") { _, _ in
        try json(.ok, ["status": "ok"])
    }
    router.get("/readyz") { _, _ in
        await store.isWritable()
            ? try json(.ok, ["status": "ready"])
            : try json(.serviceUnavailable, ["status": "store not writable"])
    }
    if configuration.adminPort == nil {
        addOperationsRoutes(to: router, configuration: configuration, store: store, metrics: metrics, logger: logger)
    }
    return router
}

private let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()

private func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
    let data = try encoder.encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// The receiver as a runnable application: HTTP server plus the background projector.
public func buildApplication(
    configuration: ReceiverConfiguration, store: any EventStore, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
    onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let metrics = ReceiverMetrics()
    let projector = Projector(store: store, logger: logger)
    let committer = GroupCommitter(store: store, onCommit: { projector.nudge() })
    let rejections = RejectionRecorder(store: store, logger: logger)
    let router = buildRouter(
        configuration: configuration, store: store, committer: committer, rejections: rejections, metrics: metrics,
        logger: logger)
    var lingering = configuration.limits
    // A client sending a body at the limit's scale gets to finish it and read the answer.
    lingering.lingerBytes = max(lingering.lingerBytes, 4 * configuration.maxBodyBytes)
    let limits = lingering
    let answersFromHead = configuration.answersFromHead
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [ConnectionGuard(limits: limits, answeredFromHead: answersFromHead)],
        idleTimeout: limits.idleTimeout,
        httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.headerBytes, maxHeaderListSize: limits.headerBytes))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "nexmirror"),
        // The HTTP server stops first (a ServiceGroup stops in reverse order), so the committer
        // and the recorder see no new work while they finish theirs, and the projector folds last.
        services: [projector, committer, rejections] + adminApplication(
            configuration: configuration, store: store, metrics: metrics, logger: logger, onRunning: onAdminRunning),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
