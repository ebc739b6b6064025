import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NexMirrorCore

/// The Nexudus admin REST API as the mirror uses it: token sign-in and rotating refresh,
/// paged lists, single records and webhooks, all through one `RequestPacer`.
///
/// Errors follow SPEC §7: 409/429 wait `Retry-After` and retry; 5xx and network errors are
/// retried a bounded number of times with backoff; a 401 refreshes the token once.
public actor NexudusClient {
    public let baseURL: String
    let credentials: NexudusCredentials?
    let tokenFile: TokenFile
    public let pacer: RequestPacer
    let logger: Logger
    let http: HTTPClient
    /// Attempts for a 5xx or network error, and the first backoff (doubled each time).
    let attempts: Int
    let firstBackoff: Duration

    private var accessToken: String?
    /// Whether a sign-in may create the token file. A dry run may not (it writes nothing new);
    /// its tokens then live in `unsaved` for the run. An existing file is always kept current:
    /// Nexudus invalidates the old refresh token at each refresh, so not saving the new one
    /// would sign the mirror out.
    let createsTokenFile: Bool
    private var unsaved: TokenFile.Contents?
    /// Requests sent, including retries and token grants: what the benchmark counts.
    public private(set) var requestsSent = 0

    public init(
        baseURL: String, credentials: NexudusCredentials?, tokenFile: TokenFile, pacer: RequestPacer,
        logger: Logger, http: HTTPClient = .nexudusAPI, attempts: Int = 5, firstBackoff: Duration = .milliseconds(500),
        createsTokenFile: Bool = true
    ) {
        self.createsTokenFile = createsTokenFile
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.credentials = credentials
        self.tokenFile = tokenFile
        self.pacer = pacer
        self.logger = logger
        self.http = http
        self.attempts = attempts
        self.firstBackoff = firstBackoff
    }

    /// An answer of the API: status and exact body bytes.
    public struct Answer: Sendable {
        public let status: Int
        public let body: [UInt8]
        /// `Retry-After` in seconds (or an HTTP date), when the answer has one.
        public var retryAfter: Duration?
    }

    // MARK: Records

    /// One page of a list, `page` 1-based.
    public func listPage(_ path: String, page: Int, size: Int, query: [(String, String)] = []) async throws(SyncError) -> ListPage {
        let parameters = [("page", String(page)), ("size", String(size)), ("orderBy", "Id")] + query
        let answer = try await send(.GET, path, query: parameters)
        guard answer.status == 200 else { throw unexpected(answer, "GET \(path)") }
        do {
            return try ListPage(answer.body)
        } catch {
            throw .api("GET \(baseURL)/\(path) page \(page): \(error.description)")
        }
    }

    /// A full record's exact bytes, or nil when the API answers 404.
    public func record(_ path: String, id: Int64) async throws(SyncError) -> [UInt8]? {
        let answer = try await send(.GET, "\(path)/\(id)")
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw unexpected(answer, "GET \(path)/\(id)") }
        return answer.body
    }

    /// Full records of `ids` in one request, `GET …/?id=[a,b,…]` (`ids` from `batches`, so the
    /// URL stays under 2,000 characters). A server that answers with the paging envelope is
    /// paged through while pages bring asked ids. A 4xx is an answer here, not an error: the
    /// caller falls back to `GET …/{id}`.
    public func records(_ path: String, ids: [Int64]) async throws(SyncError) -> BatchAnswer {
        let wanted = Set(ids)
        var found: [Int64: [UInt8]] = [:]
        var page = 1
        while true {
            let answer = try await send(
                .GET, "\(path)/", encodedQuery: Self.batchQuery(ids) + (page > 1 ? "&page=\(page)" : ""))
            if (400..<500).contains(answer.status) { return .refused(status: answer.status) }
            guard answer.status == 200 else { throw unexpected(answer, "GET \(path)/?id=[…]") }
            let parsed: BatchPage
            do {
                parsed = try BatchPage(answer.body)
            } catch {
                return .unreadable(error.description)
            }
            let before = found.count
            for record in parsed.records where wanted.contains(record.id) && found[record.id] == nil {
                found[record.id] = record.bytes
            }
            guard parsed.hasMore, found.count > before, found.count < wanted.count, page < ids.count else { break }
            page += 1
        }
        return .records(found)
    }

    /// The URL's length limit for a batch (Nexudus documents none; 2,000 is what every client
    /// and proxy on the way accepts).
    public static let maximumURLLength = 2000
    /// Ids per batch at most, whatever the URL would allow: keeps an answer to a few hundred KB.
    public static let maximumBatch = 200

    /// `ids` cut into batches whose URL, a second page's parameter included, stays under
    /// `maximumURLLength` characters.
    public nonisolated func batches(_ ids: [Int64], path: String) -> [[Int64]] {
        let fixed = "\(baseURL)/\(path)/?".utf8.count + Self.batchQuery([]).utf8.count + "&page=99999".utf8.count
        var batches: [[Int64]] = []
        var current: [Int64] = []
        var length = fixed
        for id in ids {
            let digits = String(id).utf8.count
            if !current.isEmpty && (length + 1 + digits >= Self.maximumURLLength || current.count == Self.maximumBatch) {
                batches.append(current)
                current = []
                length = fixed
            }
            length += digits + (current.isEmpty ? 0 : 1)  // and a comma after the first
            current.append(id)
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// `id=[a,b,…]` with the brackets percent-encoded (they are not allowed raw in a query).
    static func batchQuery(_ ids: [Int64]) -> String {
        "id=%5B" + ids.map(String.init).joined(separator: ",") + "%5D"
    }

    /// POST or PUT a JSON body (webhooks); returns the answer's body.
    public func write(_ method: HTTPMethod, _ path: String, json: [UInt8]) async throws(SyncError) -> [UInt8] {
        let answer = try await send(method, path, body: json, contentType: "application/json")
        guard (200..<300).contains(answer.status) else { throw unexpected(answer, "\(method) \(path)") }
        return answer.body
    }

    private func unexpected(_ answer: Answer, _ what: String) -> SyncError {
        let text = String(decoding: answer.body.prefix(200), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
        return .api("\(what) at \(baseURL) answered \(answer.status): \(text)")
    }

    // MARK: Sending

    /// Sends a request under the politeness rules, signing in first when needed.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], encodedQuery: String? = nil,
        body: [UInt8]? = nil, contentType: String? = nil
    ) async throws(SyncError) -> Answer {
        if accessToken == nil { try await signIn() }
        var refreshed = false
        var failures = 0
        while true {
            let answer: Answer
            do {
                answer = try await exchange(
                    method, url: encodedQuery.map { "\(baseURL)/\(path)?\($0)" } ?? url(path, query), body: body,
                    contentType: contentType, headers: [("Authorization", "Bearer \(accessToken ?? "")")])
            } catch let error as SyncError {
                throw error
            } catch {
                failures += 1
                guard failures < attempts else {
                    throw .api("\(method) \(baseURL)/\(path) failed \(failures) times: \(error); run sync again to continue")
                }
                try await backoff(failures)
                continue
            }
            switch answer.status {
            case 401 where !refreshed:
                // Access tokens may stop working at any time (Nexudus: "do not assume they last").
                refreshed = true
                accessToken = nil
                try await signIn()
            case 401:
                throw .authentication(
                    "the Nexudus API refused the token for \(method) /\(path) (401) even after signing in again; "
                        + "check that the user \(credentials.map { "from \($0.source) " } ?? "")has the role this needs")
            case 409, 429:
                await pacer.holdOff(for: Self.retryAfter(answer))
            case 500...599:
                failures += 1
                guard failures < attempts else {
                    throw .api("\(method) \(baseURL)/\(path) answered \(answer.status) \(failures) times; run sync again to continue")
                }
                try await backoff(failures)
            default:
                return answer
            }
        }
    }

    static func retryAfter(_ answer: Answer) -> Duration { answer.retryAfter ?? .seconds(1) }

    private func backoff(_ failures: Int) async throws(SyncError) {
        let delay = firstBackoff * (1 << min(failures - 1, 6))
        logger.warning("Nexudus API failed; retrying", metadata: ["attempt": "\(failures)", "in": "\(delay)"])
        await pacer.holdOff(for: delay)
    }

    private func url(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "\(baseURL)/\(path)" }
        let encoded = query.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        return "\(baseURL)/\(path)?\(encoded)"
    }

    /// One HTTP exchange after the pacer admits it; no retry here.
    private func exchange(
        _ method: HTTPMethod, url: String, body: [UInt8]?, contentType: String?, headers: [(String, String)]
    ) async throws -> Answer {
        do {
            try await pacer.admit()
        } catch {
            throw SyncError.api("sync cancelled")
        }
        requestsSent += 1
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "nexmirror")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 256 << 20)
        return Answer(
            status: Int(response.status.code), body: Array(buffer: collected),
            retryAfter: response.headers.first(name: "Retry-After").flatMap(Self.parseRetryAfter))
    }

    // MARK: Tokens

    /// Refresh with the stored token when there is one (no password needed), else the
    /// password grant; each new refresh token is written to the token file before use.
    private func signIn() async throws(SyncError) {
        var stored = try tokenFile.read() ?? unsaved
        if let refreshToken = stored?.refreshToken, let clientId = stored?.clientId {
            let answer = try await tokenRequest(
                ["grant_type": "refresh_token", "refresh_token": refreshToken], clientId: clientId)
            if answer.status == 200 {
                return try accept(answer, clientId: clientId)
            }
            guard let credentials, credentials.password != nil else {
                let missing = credentials == nil ? "set NEXUDUS_USERNAME and NEXUDUS_PASSWORD" : "set NEXUDUS_PASSWORD"
                throw .authentication(
                    "the refresh token in \(tokenFile.path) was refused (\(answer.status)); \(missing) "
                        + "(or pass --credentials-file) to sign in again")
            }
            logger.notice("stored refresh token refused; signing in with the password")
            stored?.refreshToken = nil
        }
        guard let credentials, let password = credentials.password else {
            let missing = credentials == nil
                ? "set NEXUDUS_USERNAME and NEXUDUS_PASSWORD" : "NEXUDUS_USERNAME is set: set NEXUDUS_PASSWORD"
            throw .configuration(
                "no Nexudus token in \(tokenFile.path) yet and no password: \(missing) (or pass --credentials-file) "
                    + "for the first sign-in; after it the token file is enough")
        }
        // A client_id of the mirror's own, so its refresh token is not invalidated by the
        // user signing in elsewhere (one refresh token per client_id).
        let clientId = stored?.clientId ?? "nexmirror-" + UUID().uuidString.lowercased()
        var form = ["grant_type": "password", "username": credentials.username, "password": password,
                    "client_id": clientId]
        if let totp = credentials.totp { form["totp"] = totp }
        let answer = try await tokenRequest(form, clientId: clientId)
        guard answer.status == 200 else {
            let reason = Self.tokenError(answer)
            throw .authentication("Nexudus refused the sign-in with the credentials from \(credentials.source): \(reason)")
        }
        try accept(answer, clientId: clientId)
    }

    private func accept(_ answer: Answer, clientId: String) throws(SyncError) {
        guard case .object(let members)? = try? JSONParser.parse(answer.body),
              case .string(let access)? = members["access_token"]
        else { throw .api("the token answer of \(baseURL)/token holds no access_token") }
        if case .string(let refresh)? = members["refresh_token"] {
            let contents = TokenFile.Contents(clientId: clientId, refreshToken: refresh)
            if createsTokenFile || FileManager.default.fileExists(atPath: tokenFile.path) {
                try tokenFile.write(contents)
            } else {
                unsaved = contents
            }
        }
        accessToken = access
    }

    private static func tokenError(_ answer: Answer) -> String {
        if case .object(let members)? = try? JSONParser.parse(answer.body) {
            let code = members["error"].flatMap { if case .string(let s) = $0 { s } else { nil } }
            let text = members["error_description"].flatMap { if case .string(let s) = $0 { s } else { nil } }
            if let code { return text.map { "\(code): \($0)" } ?? code }
        }
        return "HTTP \(answer.status)"
    }

    private func tokenRequest(_ form: [String: String], clientId: String) async throws(SyncError) -> Answer {
        let body = form.sorted { $0.key < $1.key }.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }
            .joined(separator: "&")
        var failures = 0
        while true {
            do {
                let answer = try await exchange(
                    .POST, url: "\(baseURL)/token", body: Array(body.utf8),
                    contentType: "application/x-www-form-urlencoded", headers: [("client_id", clientId)])
                switch answer.status {
                case 409, 429:
                    await pacer.holdOff(for: Self.retryAfter(answer))
                    continue
                case 500...599:
                    failures += 1
                    guard failures < attempts else { return answer }
                    try await backoff(failures)
                    continue
                default:
                    return answer
                }
            } catch let error as SyncError {
                throw error
            } catch {
                failures += 1
                guard failures < attempts else { throw .api("cannot reach \(baseURL)/token: \(error)") }
                try await backoff(failures)
            }
        }
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension NexudusClient {
    /// Delta-seconds (a decimal is tolerated) or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return .milliseconds(Int64((seconds * 1000).rounded(.up))) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}

extension HTTPClient {
    /// The pool's default retries a refused connection silently until the 60 s request deadline,
    /// so five attempts took five minutes; failing at once lets `attempts`/backoff govern.
    public static let nexudusAPI: HTTPClient = {
        // Otherwise what `.shared` uses (redirects, decompression, pool), so records read the same.
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
