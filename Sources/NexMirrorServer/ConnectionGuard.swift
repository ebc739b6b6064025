import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a client may take and how much head it may send, per HTTP/1 connection.
public struct ConnectionLimits: Sendable {
    /// Largest request head (request line and header fields); more gets 431.
    public var headerBytes: Int
    /// Time for a request head to arrive once its first bytes have, and again for its body once
    /// the head has: a client trickling either is cut (408 for a head) so it holds up no one.
    public var readTimeout: TimeAmount
    /// Time a kept-alive connection may sit without a request.
    public var idleTimeout: TimeAmount
    /// After an early answer (before the request body ended), how long at most the rest of the
    /// body is read and dropped, so that a client which writes its whole body before reading
    /// (Python's `http.client`) gets to read the answer instead of a reset. nginx's
    /// `lingering_time` is the same 30 s. A client that stops sending is still cut after
    /// `readTimeout` without a byte.
    public var lingerTimeout: TimeAmount
    /// How many body bytes at most are read and dropped after an early answer.
    public var lingerBytes: Int

    public init(
        headerBytes: Int = 16 * 1024, readTimeout: TimeAmount = .seconds(30), idleTimeout: TimeAmount = .seconds(75),
        lingerTimeout: TimeAmount = .seconds(30), lingerBytes: Int = 128 << 20
    ) {
        self.headerBytes = headerBytes
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.lingerTimeout = lingerTimeout
        self.lingerBytes = lingerBytes
    }
}

/// Sits between the HTTP/1 codec and the router. It answers `Expect: 100-continue` (a .NET
/// sender such as Nexudus holds every body back until it sees `100 Continue`, or for up to a
/// second), enforces the read deadlines and the head size, and closes a connection whose
/// request was answered before its body ended.
///
/// An early answer (404, 413, …) is sent with `Connection: close`: the client may or may not
/// send the body it announced, so the connection cannot be reused. The rest of the body is
/// dropped as it arrives instead of being queued for the router, and this handler asks for
/// every read itself meanwhile: the router no longer consumes the request (with `Connection:
/// close` the server stops reading it at once), so its backpressure would stop reading the
/// socket and leave a client that writes its whole body before reading blocked until reset.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Timer { case head, body, linger }

    private let limits: ConnectionLimits
    /// True when the router will answer this request from its head alone (unknown action, body
    /// too large): then no `100 Continue` is sent and the body is never asked for.
    private let answeredFromHead: @Sendable (HTTPRequest) -> Bool

    /// A request head was read and its end was not yet.
    private var requestOpen = false
    /// Request heads read whose response has not ended.
    private var unanswered = 0
    /// The current request was answered early: its remaining body parts are dropped.
    private var dropping = false
    private var earlyAnswerEnded = false
    /// Body bytes dropped after the early answer, bounded by `limits.lingerBytes`.
    private var dropped = 0
    /// While lingering: when it ends at the latest, and when the client last sent something.
    private var lingerEnd = NIODeadline.distantFuture
    private var lastRead = NIODeadline.now()
    private var timer: (kind: Timer, task: Scheduled<Void>)?

    init(limits: ConnectionLimits, answeredFromHead: @escaping @Sendable (HTTPRequest) -> Bool) {
        self.limits = limits
        self.answeredFromHead = answeredFromHead
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            requestOpen = true
            unanswered += 1
            dropping = false
            earlyAnswerEnded = false
            dropped = 0
            arm(.body, after: limits.readTimeout, context: context)
            if request.headerFields[.expect]?.lowercased() == "100-continue", !answeredFromHead(request) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            context.fireChannelRead(data)
        case .body(let part):
            guard dropping else { return context.fireChannelRead(data) }
            dropped += part.readableBytes
            lastRead = .now()
            if dropped > limits.lingerBytes { context.close(promise: nil) }
        case .end:
            requestOpen = false
            disarm(.body)
            guard dropping else { return context.fireChannelRead(data) }
            // The whole body of an early-answered request has been read: nothing is pending.
            if earlyAnswerEnded { context.close(promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes arrived while no request is open or being answered: the start of a head that
        // the decoder could not complete yet. It gets `readTimeout` to arrive whole.
        if !requestOpen, unanswered == 0, timer == nil {
            arm(.head, after: limits.readTimeout, context: context)
        }
        context.fireChannelReadComplete()
        if dropping, requestOpen { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, parserError == .headerOverflow, unanswered == 0 {
            refuse(.init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
                   "request head over \(limits.headerBytes) bytes", context: context)
            return
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response) where response.status.kind != .informational:
            if requestOpen, unanswered == 1 {
                dropping = true
                disarm(.body)
                response.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                // Reading may have stopped while the body waited for the router.
                context.read()
            } else {
                context.write(data, promise: promise)
            }
        case .end where dropping:
            unanswered -= 1
            earlyAnswerEnded = true
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            let requestEnded = !requestOpen
            written.futureResult.assumeIsolated().whenComplete { [self] _ in
                if requestEnded {
                    context.close(promise: nil)
                } else {
                    // A lingering close: the FIN tells the client the answer is complete, and
                    // what it still sends is read and dropped so its socket is not reset
                    // before it has read the answer.
                    context.close(mode: .output, promise: nil)
                    lingerEnd = .now() + limits.lingerTimeout
                    lastRead = .now()
                    arm(.linger, after: min(limits.lingerTimeout, limits.readTimeout), context: context)
                }
            }
        case .end:
            unanswered -= 1
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    // MARK: Deadlines

    private func arm(_ kind: Timer, after delay: TimeAmount, context: ChannelHandlerContext) {
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            expired(kind, context: context)
        }
        timer = (kind, task)
    }

    private func disarm(_ kind: Timer) {
        guard let timer, timer.kind == kind else { return }
        timer.task.cancel()
        self.timer = nil
    }

    private func expired(_ kind: Timer, context: ChannelHandlerContext) {
        switch kind {
        case .head where !requestOpen && unanswered == 0:
            refuse(.requestTimeout, "request head not received within \(limits.readTimeout.seconds) s", context: context)
        case .body where requestOpen && !dropping:
            // The router is still waiting for this body; no answer can be written under it.
            context.close(promise: nil)
        case .linger:
            // One timer for both bounds, re-armed rather than moved on every read.
            let now = NIODeadline.now()
            let end = min(lingerEnd, lastRead + limits.readTimeout)
            if now >= end {
                context.close(promise: nil)
            } else {
                arm(.linger, after: end - now, context: context)
            }
        default:
            break
        }
    }

    /// Answers a request that never reached the router, then closes the connection.
    private func refuse(_ status: HTTPResponse.Status, _ reason: String, context: ChannelHandlerContext) {
        let body = ByteBuffer(string: "{\"error\":\"\(reason)\"}")
        let head = HTTPResponse(status: status, headerFields: [
            .connection: "close", .contentType: "application/json", .contentLength: "\(body.readableBytes)",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

extension TimeAmount {
    var seconds: Int64 { nanoseconds / 1_000_000_000 }
}
