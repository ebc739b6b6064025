/// One of the 90 webhook actions Nexudus can send, and what its body carries.
///
/// Nexudus configures one URL per action and names no action in the request, so the action is
/// read from the route (`/webhooks/{action}`), by name or by numeric id.
public struct WebhookAction: Sendable, Hashable, CustomStringConvertible {
    /// What the delivery means for the entity it carries.
    public enum Change: String, Sendable, Hashable {
        case create, update, delete
        /// A notification whose DTO type is not certain (e.g. `SendWelcomeEmail`).
        case notify
    }

    /// The Nexudus action id (1–90).
    public let id: Int
    /// The action name exactly as Nexudus spells it (including `HelDeskMessageCreated`).
    public let name: String
    /// The entity type of the DTO in the body; for uncertain actions, the action name itself so
    /// that they never collide with a typed entity. `nil` only for `None`.
    public let entityType: String?
    public let change: Change

    public init(id: Int, name: String, entityType: String?, change: Change) {
        self.id = id
        self.name = name
        self.entityType = entityType
        self.change = change
    }

    public var isDelete: Bool { change == .delete }
    public var description: String { name }
}
