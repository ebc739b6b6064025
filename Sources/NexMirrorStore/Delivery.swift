import Crypto
import NexMirrorCore
import NexMirrorProjections

/// A verified delivery about to be appended to the log.
public struct NewDelivery: Sendable {
    /// Where a delivery came from: a webhook POST, `nexmirror import`, or the REST API (`sync`).
    public enum Source: String, Sendable { case webhook, `import`, api }

    public let receivedAt: Timestamp
    public let action: WebhookAction
    public let body: [UInt8]
    public let bodySHA256: String
    public let source: Source
    /// How the signature matched (`raw`, `ascii-folded`), `unsigned` or `imported`.
    public let signature: String
    public let entityId: Int64?
    public let updatedOn: Timestamp?
    /// Why the body cannot be folded; such a delivery is kept, marked quarantined.
    public let problem: String?
    /// The problem without the value found in the body (which may be personal data), for
    /// logs: `field UpdatedOn: expected an ISO-8601 date`.
    public var problemForLogs: String? {
        guard let problem else { return nil }
        guard let found = problem.range(of: ", found ") else { return problem }
        return String(problem[..<found.lowerBound])
    }

    /// Coworkers the delivery is about or names (SPEC §10): checked against the erased
    /// subjects at append, so a forgotten person's data is never written again.
    public let referencedCoworkers: [Int64]

    /// The entity type logged with it: the action's, except for API records of a kind that no
    /// webhook action carries (`Resource`).
    public let entityType: String?

    /// Decodes enough of the body to index it; an undecodable body becomes a quarantined
    /// delivery rather than an error, so nothing signed is ever lost. Webhook and import bodies
    /// must be an array of one DTO (what Nexudus POSTs); an API record is one object.
    public init(
        action: WebhookAction, body: [UInt8], source: Source, signature: String, receivedAt: Timestamp = .now,
        entityType: String? = nil
    ) {
        self.receivedAt = receivedAt
        self.action = action
        self.entityType = entityType ?? action.entityType
        self.body = body
        self.bodySHA256 = Hex.encodeLower(SHA256.hash(data: body))
        self.source = source
        self.signature = signature
        do {
            let decoded = try DeliveryBody.decode(body, for: action, requireArray: source != .api)
            entityId = decoded.entityId
            updatedOn = decoded.updatedOn
            problem = nil
            referencedCoworkers = PersonalData.referencedCoworkers(
                in: decoded.dto, entityType: self.entityType, entityId: decoded.entityId)
        } catch {
            entityId = nil
            updatedOn = nil
            problem = error.description
            referencedCoworkers = []
        }
    }
}

/// The answer to an append: the delivery's log position, and whether it was already there.
public struct AppendResult: Sendable, Equatable, Codable {
    public let seq: Int64
    public let duplicate: Bool

    public init(seq: Int64, duplicate: Bool) {
        self.seq = seq
        self.duplicate = duplicate
    }
}

/// A delivery refused for its signature: metadata only, never the body.
public struct Rejection: Sendable {
    public let receivedAt: Timestamp
    public let action: String
    public let size: Int
    public let bodySHA256: String
    public let remoteAddress: String?
    public let reason: String

    public init(action: String, body: [UInt8], remoteAddress: String?, reason: String, receivedAt: Timestamp = .now) {
        self.receivedAt = receivedAt
        self.action = action
        self.size = body.count
        self.bodySHA256 = Hex.encodeLower(SHA256.hash(data: body))
        self.remoteAddress = remoteAddress
        self.reason = reason
    }
}

/// Why the store could not do what was asked; `unavailable` means "retry later" (HTTP 503).
public enum StoreError: Error, CustomStringConvertible {
    case unavailable(String)
    case notANexmirrorDatabase(String)
    case missingDatabase(String)
    case unknownProjection(String)
    /// A replica table its migration should have made is not in the store.
    case missingTable(String)
    /// `--db` names a backend this build cannot open yet.
    case unsupportedBackend(String)
    /// The backend refused to open or migrate the store; the message names the store.
    case opening(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "the event log cannot commit right now: \(reason)"
        case .notANexmirrorDatabase(let path): "\(path) is not a nexmirror database (no event log in it)"
        case .missingDatabase(let path):
            "no database at \(path); start `nexmirror serve` first, or pass --db / set NEXMIRROR_DB"
        case .opening(let message): message
        case .unsupportedBackend(let message): message
        case .missingTable(let table):
            "the replica table \(table) is missing from the database; restore it from a backup, or import the log into a new one"
        case .unknownProjection(let name):
            "unknown projection '\(name)'; known: \(Projections.all.map(\.name).joined(separator: ", "))"
        }
    }
}
