import NexMirrorCore

/// One of the account's webhooks as `nexudus_webhooks` keeps it, so `status` and the dashboard
/// can say "disabled in Nexudus" without asking the API.
public struct WebhookRecord: Sendable, Equatable {
    /// The Nexudus WebHook Id.
    public let id: Int64
    public let businessId: Int64?
    /// The catalog action name (the id as text when the catalog does not know it).
    public let action: String?
    public let url: String
    public let active: Bool
    public let errorCount: Int?
    public let lastError: String?
    public let lastTrigger: Timestamp?

    public init(
        id: Int64, businessId: Int64?, action: String?, url: String, active: Bool, errorCount: Int?,
        lastError: String?, lastTrigger: Timestamp?
    ) {
        self.id = id
        self.businessId = businessId
        self.action = action
        self.url = url
        self.active = active
        self.errorCount = errorCount
        self.lastError = lastError
        self.lastTrigger = lastTrigger
    }
}
