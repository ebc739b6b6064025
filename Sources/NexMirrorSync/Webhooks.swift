import Foundation
import NIOHTTP1
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore

/// A webhook record of the account (`/sys/webhooks`), as listed.
public struct NexudusWebhook: Sendable {
    public let id: Int64
    public let businessId: Int64?
    public let actionId: Int?
    public let url: String
    public let active: Bool
    public let errorCount: Int?
    public let lastError: String?
    public let lastTrigger: Timestamp?

    /// The catalog name, or the id as text when the catalog does not know it.
    public var actionName: String? {
        actionId.map { ActionCatalog.action(id: $0)?.name ?? String($0) }
    }

    init?(_ record: [String: JSONValue]) {
        guard let id = record["Id"].flatMap(ListPage.integer) else { return nil }
        self.id = id
        businessId = record["BusinessId"].flatMap(ListPage.integer)
        actionId = record["Action"].flatMap(ListPage.integer).map(Int.init)
        url = record["URL"].flatMap(Self.string) ?? record["Url"].flatMap(Self.string) ?? ""
        if case .bool(let flag)? = record["Active"] { active = flag } else { active = false }
        errorCount = record["ErrorCount"].flatMap(ListPage.integer).map(Int.init)
        lastError = record["LastError"].flatMap(Self.string)
        lastTrigger = record["LastTrigger"].flatMap(Self.string).flatMap { Timestamp(parsing: $0) }
    }

    /// As `nexudus_webhooks` keeps it.
    public var record: WebhookRecord {
        WebhookRecord(
            id: id, businessId: businessId, action: actionName, url: url, active: active, errorCount: errorCount,
            lastError: lastError, lastTrigger: lastTrigger)
    }

    static func string(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }
}

/// A location (`/sys/businesses`): webhooks are per location.
public struct NexudusBusiness: Sendable {
    public let id: Int64
    public let name: String
}

/// One projected action at one location, and the state of its webhook pointing at the mirror.
public struct WebhookCoverage: Sendable {
    public enum State: String, Sendable { case active, disabled, missing }
    public let business: NexudusBusiness
    public let action: WebhookAction
    public let url: String
    public let state: State
    /// The disabled webhook to re-enable.
    public let webhookId: Int64?
}

/// `nexmirror webhooks` and `webhooks setup`: the account's webhooks, and one per projected
/// action and location at `BASE/webhooks/<Action>`.
public struct WebhookRegistry: Sendable {
    public let client: NexudusClient

    public init(client: NexudusClient) { self.client = client }

    /// Actions that feed a typed replica table (SPEC §4.2): those the mirror needs.
    public static let projectedActions: [WebhookAction] = ActionCatalog.all.filter { action in
        guard let type = action.entityType, action.change != .notify else { return false }
        return Projections.projection(for: type).entityTypes != nil
    }

    public func webhooks() async throws(SyncError) -> [NexudusWebhook] {
        try await all("sys/webhooks").compactMap(NexudusWebhook.init)
    }

    public func businesses() async throws(SyncError) -> [NexudusBusiness] {
        try await all("sys/businesses").compactMap { record in
            guard let id = record["Id"].flatMap(ListPage.integer) else { return nil }
            return NexudusBusiness(id: id, name: record["Name"].flatMap(NexudusWebhook.string) ?? "")
        }
    }

    private func all(_ path: String) async throws(SyncError) -> [[String: JSONValue]] {
        var records: [[String: JSONValue]] = []
        var page = 1
        while true {
            let answer = try await client.listPage(path, page: page, size: 1000)
            records += answer.records
            guard answer.hasMore(after: page, askedSize: 1000) else { return records }
            page += 1
        }
    }

    public static func url(base: String, action: WebhookAction) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/webhooks/\(action.name)"
    }

    /// Per location, each projected action's webhook at BASE: active, disabled or missing.
    public static func coverage(
        base: String, businesses: [NexudusBusiness], webhooks: [NexudusWebhook]
    ) -> [WebhookCoverage] {
        var coverage: [WebhookCoverage] = []
        for business in businesses {
            for action in projectedActions {
                let url = url(base: base, action: action)
                let matching = webhooks.filter {
                    $0.businessId == business.id && $0.actionId == action.id
                        && $0.url.caseInsensitiveCompare(url) == .orderedSame
                }
                let state: WebhookCoverage.State =
                    matching.contains(where: \.active) ? .active : matching.isEmpty ? .missing : .disabled
                coverage.append(WebhookCoverage(
                    business: business, action: action, url: url, state: state,
                    webhookId: state == .disabled ? matching[0].id : nil))
            }
        }
        return coverage
    }

    /// Creates a missing webhook.
    public func create(_ gap: WebhookCoverage) async throws(SyncError) {
        let record: [String: Any] = [
            "BusinessId": gap.business.id, "Name": "nexmirror \(gap.action.name)", "Action": gap.action.id,
            "URL": gap.url, "Active": true,
        ]
        _ = try await client.write(.POST, "sys/webhooks", json: Self.json(record))
    }

    /// Re-enables a disabled webhook: the full record (lists are partial, never PUT back),
    /// with `Active` set.
    public func enable(_ gap: WebhookCoverage) async throws(SyncError) {
        guard let id = gap.webhookId else { return }
        let answer = try await client.send(.GET, "sys/webhooks/\(id)")
        guard answer.status == 200,
              var record = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
        else { throw .api("GET sys/webhooks/\(id) answered \(answer.status)") }
        record["Active"] = true
        _ = try await client.write(.PUT, "sys/webhooks", json: Self.json(record))
    }

    private static func json(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8))
    }
}
