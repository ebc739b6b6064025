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

    var accessToken: String?
    /// Whether a sign-in may create the token file. A dry run may not (it writes nothing new);
    /// its tokens then live in `unsaved` for the run. An existing file is always kept current:
    /// Nexudus invalidates the old refresh token at each refresh, so not saving the new one
    /// would sign the mirror out.
    let createsTokenFile: Bool
    var unsaved: TokenFile.Contents?
    /// Requests sent, including retries and token grants: what the benchmark counts.
    public internal(set) var requestsSent = 0

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
}
