import NexMirrorCore
import NexMirrorProjections

/// A delivery as read back from the log for folding, the same on every backend.
public struct LoggedEvent: Sendable {
    public let seq: Int64
    public let action: String
    public let entityType: String?
    public let body: [UInt8]
    public let status: String
    /// Read for one decision: `api-404` marks the API's 404 as a delete (see `APINotFound`).
    public let signature: String?

    public init(seq: Int64, action: String, entityType: String?, body: [UInt8], status: String, signature: String?) {
        self.seq = seq
        self.action = action
        self.entityType = entityType
        self.body = body
        self.status = status
        self.signature = signature
    }

    /// The log's columns a fold reads, in the order every backend decodes them.
    public static let columns = "seq, action, entity_type, body, status, signature"

    /// The `limit` deliveries after `seq`, in log order (on SQLite, all of them for a negative
    /// limit).
    public static func after(_ seq: Int64, limit: Int, in dialect: SQLDialect) -> SQLStatement {
        SQLStatement(
            "SELECT \(columns) FROM events WHERE seq > \(dialect.parameter(1)) ORDER BY seq LIMIT \(dialect.parameter(2))",
            [.integer(seq), .integer(Int64(limit))])
    }

    /// Marks a delivery that cannot be folded, with the reason, so folding goes on past it.
    /// Unqualified `events`: `check` folds with a TEMP `events` in front, which absorbs the mark.
    public static func quarantine(_ seq: Int64, reason: String, in dialect: SQLDialect) -> SQLStatement {
        SQLStatement(
            "UPDATE events SET status = \(dialect.parameter(1)), error = \(dialect.parameter(2)) WHERE seq = \(dialect.parameter(3))",
            [.text(DeliveryStatus.quarantined.rawValue), .text(reason), .integer(seq)])
    }
}

extension FoldPreparation {
    /// Decodes and projects one logged delivery (see `of(seq:action:…)`).
    public static func of(
        _ event: LoggedEvent, selected: Set<String>? = nil, shouldFold: (any Projection) -> Bool = { _ in true }
    ) -> FoldPreparation {
        of(seq: event.seq, action: event.action, entityType: event.entityType, body: event.body, status: event.status,
           signature: event.signature, selected: selected, shouldFold: shouldFold)
    }
}

/// A batch of logged deliveries decoded and projected, ready to be decided (`BatchFold`): no
/// database work went into it, so a backend may prepare one batch while it writes another.
public struct PreparedBatch: Sendable {
    /// The deliveries to fold, in the order read.
    public let plans: [FoldPlan]
    /// Deliveries that cannot be folded: seq and reason, marked in the log when the batch is written.
    public let quarantined: [(seq: Int64, reason: String)]
    /// How many deliveries were read, folded or not.
    public let count: Int
    public let lastSeq: Int64?

    /// Prepares `events` with the shared preparation (`FoldPreparation`).
    /// - Parameter shouldFold: false for a projection that already folded the delivery (checkpoints).
    public static func of(
        _ events: [LoggedEvent], selected: Set<String>? = nil,
        when shouldFold: (LoggedEvent, any Projection) -> Bool = { _, _ in true }
    ) -> PreparedBatch {
        var plans: [FoldPlan] = []
        plans.reserveCapacity(events.count)
        var quarantined: [(seq: Int64, reason: String)] = []
        for event in events {
            switch FoldPreparation.of(event, selected: selected, shouldFold: { shouldFold(event, $0) }) {
            case .skip: continue
            case .quarantine(let reason): quarantined.append((event.seq, reason))
            case .fold(let plan): plans.append(plan)
            }
        }
        return PreparedBatch(plans: plans, quarantined: quarantined, count: events.count, lastSeq: events.last?.seq)
    }

    /// The log's quarantine marks for the deliveries that cannot be folded.
    public func quarantineStatements(in dialect: SQLDialect) -> [SQLStatement] {
        quarantined.map { LoggedEvent.quarantine($0.seq, reason: $0.reason, in: dialect) }
    }
}
