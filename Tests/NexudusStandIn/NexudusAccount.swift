import Foundation
import Synchronization

/// The state of a stand-in Nexudus account: users and tokens, records per API path, webhooks,
/// scripted faults, and a log of every request for the politeness tests.
///
/// Built from `nexudus/REST-API.md`: tokens rotate (one refresh token per `client_id`), lists
/// are paged with the documented envelope and carry partial records, single records are full,
/// a deleted id answers 404, throttling answers 409 with `Retry-After`.
public final class NexudusAccount: Sendable {
    public struct Record: Sendable {
        public let id: Int64
        public var updatedOn: String
        /// JSON literals of the DTO's own fields, in order, after the base fields.
        public var fields: [(name: String, json: String)]
    }

    /// A scripted answer to the next matching API requests (token grants excepted).
    public struct Fault: Sendable {
        public let status: Int
        public let retryAfter: String?
        public var remaining: Int
        /// Applies once this many API requests have been answered.
        public let afterRequests: Int
        public let pathPrefix: String?
    }

    public struct LoggedRequest: Sendable {
        /// Seconds since the account was created.
        public let at: Double
        public let method: String
        public let path: String
        public let status: Int
    }

    struct State {
        var users: [String: (password: String, totp: String?)] = [:]
        var refreshTokens: [String: String] = [:]  // token -> client_id
        var accessTokens: Set<String> = []
        var records: [String: [Int64: Record]] = [:]
        var faults: [Fault] = []
        var log: [LoggedRequest] = []
        var apiRequests = 0
        /// Nexudus' request limit as a sliding window: at most `count` arrivals in `seconds`.
        var limit: (count: Int, seconds: Double)?
        var arrivals: [Double] = []
        var nextWebhookId: Int64 = 9_000_000
        var batchForm = BatchForm.whole
        /// Records deleted as the first batch request of their path arrives (deleted meanwhile).
        var deleteOnBatch: [(path: String, id: Int64)] = []
        /// Ids batch answers leave out although they exist (a server capping its answers).
        var leftOutOfBatches: Set<Int64> = []
    }

    /// How `GET …/?id=[a,b,…]` answers: as documented (an array of whole records, as
    /// `GET …/{id}` gives them), with list-like partial records, or refused (400).
    public enum BatchForm: Sendable { case whole, partial, refused }

    let state = Mutex(State())
    let started = ContinuousClock.now
    /// The largest page the stand-in serves, whatever size is asked (the docs' 1000, lower to
    /// test that the client reads `CurrentPageSize` back).
    public let maxPageSize: Int

    public init(maxPageSize: Int = 1000) {
        self.maxPageSize = maxPageSize
    }

    // MARK: Setting up

    public func addUser(_ username: String, password: String, totp: String? = nil) {
        state.withLock { $0.users[username] = (password, totp) }
    }

    /// Adds or replaces a record; `fields` values are Swift strings, integers, booleans,
    /// `Decimal` text via `Literal`, or nil.
    public func put(_ path: String, id: Int64, updatedOn: String, fields: [(String, Any?)] = []) {
        let record = Record(id: id, updatedOn: updatedOn, fields: fields.map { ($0.0, Self.literal($0.1)) })
        state.withLock { $0.records[path, default: [:]][id] = record }
    }

    public func serveBatches(_ form: BatchForm) { state.withLock { $0.batchForm = form } }

    /// Deletes the record when the first batch request of `path` arrives: listed, then gone.
    public func deleteWhenBatched(_ path: String, id: Int64) {
        state.withLock { $0.deleteOnBatch.append((path, id)) }
    }

    /// Leaves `id` out of every batch answer, though `GET …/{id}` still answers it.
    public func leaveOutOfBatches(_ id: Int64) { state.withLock { _ = $0.leftOutOfBatches.insert(id) } }

    /// `GET …/?id=[a,b,…]`: the records of the ids that exist, in the order asked.
    func batch(_ path: String, ids: [Int64]) -> (Int, String) {
        let (form, records) = state.withLock { state -> (BatchForm, [Record]) in
            for doomed in state.deleteOnBatch where doomed.path == path {
                state.records[path]?.removeValue(forKey: doomed.id)
            }
            state.deleteOnBatch.removeAll { $0.path == path }
            return (state.batchForm, ids.filter { !state.leftOutOfBatches.contains($0) }.compactMap { state.records[path]?[$0] })
        }
        switch form {
        case .refused: return (400, #"{"Message":"The request is invalid."}"#)
        case .whole: return (200, "[" + records.map(Self.full).joined(separator: ",") + "]")
        case .partial: return (200, "[" + records.map(Self.partial).joined(separator: ",") + "]")
        }
    }

    public func delete(_ path: String, id: Int64) {
        state.withLock { _ = $0.records[path]?.removeValue(forKey: id) }
    }

    public func ids(_ path: String) -> [Int64] {
        state.withLock { ($0.records[path] ?? [:]).keys.sorted() }
    }

    /// The record's full DTO, exactly as `GET …/{id}` answers it.
    public func body(_ path: String, id: Int64) -> [UInt8]? {
        state.withLock { $0.records[path]?[id] }.map { Array(Self.full($0).utf8) }
    }

    /// What Nexudus would POST to a webhook for the record: an array of one DTO.
    public func webhookBody(_ path: String, id: Int64) -> [UInt8]? {
        body(path, id: id).map { [UInt8(ascii: "[")] + $0 + [UInt8(ascii: "]")] }
    }

    public func addFault(
        status: Int, retryAfter: String? = nil, count: Int = 1, afterRequests: Int = 0, pathPrefix: String? = nil
    ) {
        state.withLock {
            $0.faults.append(Fault(status: status, retryAfter: retryAfter, remaining: count, afterRequests: afterRequests, pathPrefix: pathPrefix))
        }
    }

    /// Makes every refresh token issued so far stop working (a token revoked in Nexudus).
    public func revokeRefreshTokens() { state.withLock { $0.refreshTokens.removeAll() } }

    /// Makes every access token issued so far stop working (refresh tokens still work).
    public func revokeAccessTokens() { state.withLock { $0.accessTokens.removeAll() } }

    /// Revokes access tokens once this many API requests have been answered.
    public func revokeAccessTokens(afterRequests count: Int) {
        addFault(status: -401, count: 1, afterRequests: count)
    }

    public var requests: [LoggedRequest] { state.withLock { $0.log } }

    /// Enforces a request limit like Nexudus' 5,000 an hour (scaled down for tests): a request
    /// arriving when `count` were admitted within the last `seconds` answers 409 with
    /// `Retry-After: 1`. Token grants and refused requests are not counted.
    public func limitRequests(_ count: Int, perSeconds seconds: Double) {
        state.withLock { $0.limit = (count, seconds) }
    }

    /// Seconds since the account was created.
    var now: Double {
        let at = ContinuousClock.now - started
        return Double(at.components.seconds) + Double(at.components.attoseconds) / 1e18
    }

    public func webhook(id: Int64) -> [String: Any]? {
        guard let bytes = body("sys/webhooks", id: id) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// Adds a webhook record as Nexudus keeps it.
    @discardableResult
    public func addWebhook(business: Int64, action: Int, url: String, active: Bool, errorCount: Int = 0) -> Int64 {
        let id = state.withLock { state -> Int64 in
            state.nextWebhookId += 1
            return state.nextWebhookId
        }
        put("sys/webhooks", id: id, updatedOn: "2026-01-01T00:00:00Z", fields: Self.webhookFields(
            ["BusinessId": business, "Name": "hook \(action)", "Action": action, "URL": url, "Active": active,
             "ErrorCount": errorCount, "LastError": active ? nil : "The remote server returned an error: (500)",
             "LastTrigger": "2026-01-02T03:04:05Z"]))
        return id
    }

    static func webhookFields(_ record: [String: Any?]) -> [(String, Any?)] {
        ["BusinessId", "Name", "Action", "Description", "URL", "Active", "LastError", "ErrorCount", "LastTrigger"].map {
            ($0, record[$0] ?? nil)
        }
    }

    // MARK: JSON

    static func literal(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "null"
        case let flag as Bool: return flag ? "true" : "false"
        case let number as Int: return String(number)
        case let number as Int64: return String(number)
        case let literal as Literal: return literal.json
        case let text as String:
            let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        case let number as Double: return String(number)
        case let ids as [Int64]: return "[" + ids.map(String.init).joined(separator: ",") + "]"
        default: return "null"
        }
    }

    static func base(_ record: Record) -> [(String, String)] {
        [
            ("Id", String(record.id)),
            ("UniqueId", literal(String(format: "%08x-0000-4000-8000-%012llx", record.id & 0xffff_ffff, record.id))),
            ("CreatedOn", literal("2024-01-01T09:00:00Z")),
            ("UpdatedOn", literal(record.updatedOn)),
            ("UpdatedBy", literal("ops@example.com")),
            ("IsNew", "false"),
            ("SystemId", "null"),
            ("ToStringText", literal("record \(record.id)")),
        ]
    }

    /// The full DTO, Json.NET style (PascalCase, nulls written, no spaces).
    static func full(_ record: Record) -> String {
        object(base(record) + record.fields.map { ($0.name, $0.json) })
    }

    /// A list row: base fields only, as list responses omit most of a record.
    static func partial(_ record: Record) -> String {
        object(base(record))
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// A JSON literal kept as written, e.g. a decimal with its scale: `Literal("0.09000")`.
public struct Literal: Sendable {
    public let json: String
    public init(_ json: String) { self.json = json }
}
