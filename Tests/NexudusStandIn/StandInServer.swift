import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOHTTPTypes
import NIOCore

/// The stand-in Nexudus API on a loopback port, serving a `NexudusAccount` under `/api`.
public final class StandInServer: Sendable {
    public let account: NexudusAccount
    public let port: Int
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)/api" }

    public static func start(_ account: NexudusAccount) async throws -> StandInServer {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let started = account.started
        let app = Application(
            router: StandInRoutes(account: account).router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ArrivalStamp(started: started)])),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "nexudus-standin"),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return StandInServer(account: account, port: port, task: task)
    }

    private init(account: NexudusAccount, port: Int, task: Task<Void, any Error>) {
        self.account = account
        self.port = port
        self.task = task
    }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}

struct StandInRoutes {
    let account: NexudusAccount

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/api/token") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            let form = Self.parseForm(String(buffer: body))
            let clientHeader = request.headers[HTTPField.Name("client_id")!]
            let (status, json) = account.grant(form: form, clientIdHeader: clientHeader,
                                               contentType: request.headers[.contentType],
                                               arrived: ArrivalStamp.seconds(of: request))
            return Self.answer(status, json)
        }
        router.get("/api/:group/:entities") { request, context in
            let path = "\(context.parameters.get("group")!)/\(context.parameters.get("entities")!)"
            let query = Self.query(request)
            if let ids = query["id"].flatMap(Self.idList) {
                let logged = "\(path)/?id=[\(ids.map(String.init).joined(separator: ","))]"
                return account.serve(request, path: logged, method: "GET") { account.batch(path, ids: ids) }
            }
            return account.serve(request, path: path, method: "GET") {
                account.list(path, query: query)
            }
        }
        router.get("/api/:group/:entities/:id") { request, context in
            let path = "\(context.parameters.get("group")!)/\(context.parameters.get("entities")!)"
            let id = context.parameters.get("id").flatMap { Int64($0) }
            return account.serve(request, path: "\(path)/\(context.parameters.get("id") ?? "")", method: "GET") {
                guard let id, let body = account.body(path, id: id) else {
                    return (404, #"{"Message":"No HTTP resource was found that matches the request URI."}"#)
                }
                return (200, String(decoding: body, as: UTF8.self))
            }
        }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/api/:group/:entities", method: method) { request, context in
                let path = "\(context.parameters.get("group")!)/\(context.parameters.get("entities")!)"
                let body = try await request.body.collect(upTo: 1 << 20)
                return account.serve(request, path: path, method: method.rawValue) {
                    guard path == "sys/webhooks" else { return (405, #"{"Message":"Not supported by the stand-in."}"#) }
                    return account.saveWebhook(Data(buffer: body), create: method == .post)
                }
            }
        }
        return router
    }

    static func answer(_ status: Int, _ json: String, retryAfter: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key).lowercased()] = String(value) }
        return query
    }

    /// `[1,2,3]` (its brackets percent-encoded or not).
    static func idList(_ value: String) -> [Int64]? {
        let text = value.removingPercentEncoding ?? value
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        return text.dropFirst().dropLast().split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    static func parseForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        return form
    }
}

extension NexudusAccount {
    /// Checks the bearer token, applies scripted faults, logs the request.
    func serve(_ request: Request, path: String, method: String, handle: () -> (Int, String)) -> Response {
        let token = request.headers[.authorization].flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        }
        enum Outcome { case fault(Fault), unauthorized, handle }
        let arrived = ArrivalStamp.seconds(of: request) ?? now
        let outcome: Outcome = state.withLock { state in
            let answered = state.apiRequests
            state.apiRequests += 1
            if let limit = state.limit {
                // Only admitted requests count, so clients that wait Retry-After get through.
                state.arrivals.removeAll { $0 <= arrived - limit.seconds }
                if state.arrivals.count >= limit.count {
                    return .fault(Fault(status: 409, retryAfter: "1", remaining: 0, afterRequests: 0, pathPrefix: nil))
                }
                state.arrivals.append(arrived)
            }
            if let index = state.faults.firstIndex(where: {
                $0.remaining > 0 && answered >= $0.afterRequests && ($0.pathPrefix.map { path.hasPrefix($0) } ?? true)
            }) {
                state.faults[index].remaining -= 1
                let fault = state.faults[index]
                if fault.status == -401 {
                    state.accessTokens.removeAll()
                } else {
                    return .fault(fault)
                }
            }
            guard let token, state.accessTokens.contains(token) else { return .unauthorized }
            return .handle
        }
        let (status, json, retryAfter): (Int, String, String?)
        switch outcome {
        case .fault(let fault):
            let message = fault.status == 409 ? "You must wait before accessing this url again." : "Server error"
            (status, json, retryAfter) = (fault.status, "{\"Message\":\"\(message)\"}", fault.retryAfter)
        case .unauthorized:
            (status, json, retryAfter) = (401, #"{"Message":"Authorization has been denied for this request."}"#, nil)
        case .handle:
            let handled = handle()
            (status, json, retryAfter) = (handled.0, handled.1, nil)
        }
        record(method: method, path: path, status: status, arrived: arrived)
        return StandInRoutes.answer(status, json, retryAfter: retryAfter)
    }

    /// Logs a request at its arrival (`arrived`, stamped on the event loop), else now.
    func record(method: String, path: String, status: Int, arrived: Double? = nil) {
        let seconds = arrived ?? now
        state.withLock { $0.log.append(LoggedRequest(at: seconds, method: method, path: path, status: status)) }
    }

    /// `POST /api/token`: password grant (with `totp` for 2FA users) or rotating refresh.
    func grant(form: [String: String], clientIdHeader: String?, contentType: String?, arrived: Double? = nil) -> (Int, String) {
        defer { record(method: "POST", path: "token", status: 0, arrived: arrived) }
        guard contentType?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return (400, #"{"error":"unsupported_grant_type"}"#)
        }
        return state.withLock { state -> (Int, String) in
            let clientId: String
            switch form["grant_type"] {
            case "password":
                guard let username = form["username"], let user = state.users[username], user.password == form["password"] else {
                    return (400, #"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#)
                }
                if let totp = user.totp, form["totp"] != totp {
                    return (400, #"{"error":"two_factor_auth_check","error_description":"A two-factor code is required."}"#)
                }
                clientId = clientIdHeader ?? form["client_id"] ?? username
            case "refresh_token":
                guard let token = form["refresh_token"], let owner = state.refreshTokens[token],
                      owner == (clientIdHeader ?? owner)
                else { return (400, #"{"error":"invalid_grant","error_description":"Invalid refresh token."}"#) }
                clientId = owner
            default:
                return (400, #"{"error":"unsupported_grant_type"}"#)
            }
            // One refresh token per client_id: issuing one invalidates the others.
            state.refreshTokens = state.refreshTokens.filter { $0.value != clientId }
            let access = UUID().uuidString, refresh = UUID().uuidString
            state.accessTokens.insert(access)
            state.refreshTokens[refresh] = clientId
            return (200, #"{"access_token":"\#(access)","token_type":"bearer","expires_in":604799,"refresh_token":"\#(refresh)"}"#)
        }
    }

    /// A page of `path`, ordered by `orderBy` (`Id` or `UpdatedOn`) in the direction `dir`
    /// gives in any documented encoding: 1/-1, 0/1 (0 is ascending), Ascending/Descending.
    func list(_ path: String, query: [String: String]) -> (Int, String) {
        var records = state.withLock { Array(($0.records[path] ?? [:]).values) }
        if let business = query["webhook_business"].flatMap({ Int64($0) }) {
            records = records.filter { $0.fields.contains { $0.name == "BusinessId" && $0.json == String(business) } }
        }
        let descending: Bool
        switch query["dir"]?.lowercased() {
        case "-1", "descending", "desc": descending = true
        default: descending = false
        }
        let byUpdatedOn = query["orderby"]?.lowercased() == "updatedon"
        records.sort { byUpdatedOn ? ($0.updatedOn, $0.id) < ($1.updatedOn, $1.id) : $0.id < $1.id }
        if descending { records.reverse() }
        let size = min(max(Int(query["size"] ?? "25") ?? 25, 1), maxPageSize)
        let page = max(Int(query["page"] ?? "1") ?? 1, 1)
        let total = records.count
        let pages = max(1, (total + size - 1) / size)
        let slice = records.dropFirst((page - 1) * size).prefix(size)
        let first = slice.isEmpty ? 0 : (page - 1) * size + 1
        let envelope = [
            ("Records", "[" + slice.map { path == "sys/webhooks" || path == "sys/businesses" ? Self.full($0) : Self.partial($0) }.joined(separator: ",") + "]"),
            ("CurrentPage", String(page)), ("CurrentPageSize", String(size)),
            ("CurrentOrderField", Self.literal(byUpdatedOn ? "UpdatedOn" : "Id")),
            ("CurrentSortDirection", descending ? "-1" : "1"),
            ("FirstItem", String(first)), ("LastItem", String(first == 0 ? 0 : first + slice.count - 1)),
            ("TotalItems", String(total)), ("TotalPages", String(pages)),
            ("HasNextPage", page < pages ? "true" : "false"), ("HasPreviousPage", page > 1 ? "true" : "false"),
        ]
        return (200, Self.object(envelope))
    }

    /// `POST` (create) or `PUT` (update, body carries `Id`) of `/api/sys/webhooks`.
    func saveWebhook(_ json: Data, create: Bool) -> (Int, String) {
        guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            return (400, #"{"Message":"The request is invalid."}"#)
        }
        var fields: [String: Any?] = object.mapValues { $0 is NSNull ? nil : $0 }
        if let active = object["Active"] as? NSNumber { fields["Active"] = active.boolValue }
        for key in ["BusinessId", "Action", "ErrorCount"] {
            if let number = object[key] as? NSNumber { fields[key] = number.intValue }
        }
        let id: Int64
        if create {
            id = state.withLock { state -> Int64 in
                state.nextWebhookId += 1
                return state.nextWebhookId
            }
            fields["ErrorCount"] = 0
        } else {
            guard let existing = (object["Id"] as? NSNumber)?.int64Value, self.body("sys/webhooks", id: existing) != nil else {
                return (404, #"{"Message":"No such webhook."}"#)
            }
            id = existing
        }
        put("sys/webhooks", id: id, updatedOn: "2026-06-01T00:00:00Z", fields: Self.webhookFields(fields))
        return (200, #"{"Status":200,"Message":"OK","Value":{"Id":\#(id)},"WasSuccessful":true}"#)
    }
}

/// Stamps each request head with its arrival time, on the event loop as it is decoded. The
/// route handlers run on the cooperative pool, which CPU-bound tests elsewhere in the suite can
/// hold for a moment: timed there, two requests sent 500 ms apart could be logged 100 ms apart.
final class ArrivalStamp: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    static let header = HTTPField.Name("X-StandIn-Arrived")!
    let started: ContinuousClock.Instant

    init(started: ContinuousClock.Instant) { self.started = started }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let at = ContinuousClock.now - started
        head.headerFields[Self.header] = String(Double(at.components.seconds) + Double(at.components.attoseconds) / 1e18)
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    static func seconds(of request: Request) -> Double? { request.headers[header].flatMap(Double.init) }
}
