import NexMirrorCore

/// Read-only access to the log and the replica, as `query`, `events` and `status` use it. The
/// store refuses writes itself (a read-only connection or transaction), not only this API.
public protocol ReplicaReader: StatusReporting {
    /// Runs one read-only statement with `--param` values and streams its rows into `writer`.
    /// Throws `QueryError` for SQL that is refused or fails.
    func query(_ sql: String, parameters: QueryParameters, into writer: inout some RowWriter) async throws

    /// Streams the newest deliveries matching `filter`, oldest first, as `events` lists them.
    func listEvents(_ filter: EventFilter, into writer: inout some RowWriter) async throws

    /// One delivery with its metadata and exact body; nil when no delivery has that seq.
    func event(seq: Int64) async throws -> LoggedDelivery?

    /// The last log position; nil for an empty log.
    func lastSeq() async throws -> Int64?

    /// Streams one `export` report as rows (the CLI writes them as CSV).
    func export(_ report: ReportName, filters: ReportFilters, into writer: inout some RowWriter) async throws

    /// Every delivery of one entity and what the fold made of it (`history`).
    func history(of entityTypes: [String], id: Int64) async throws -> EntityHistory
}

/// Which deliveries `events` lists.
public struct EventFilter: Sendable, Equatable {
    /// A catalog action name.
    public var action: String?
    /// Entity types and an id: the entity's deliveries under any of those types.
    public var entity: (types: [String], id: Int64)?
    public var quarantinedOnly = false
    public var since: Timestamp?
    /// The newest `limit` matching deliveries; 0 for all.
    public var limit = 50

    public init() {}

    public static func == (lhs: EventFilter, rhs: EventFilter) -> Bool {
        lhs.action == rhs.action && lhs.entity?.types == rhs.entity?.types && lhs.entity?.id == rhs.entity?.id
            && lhs.quarantinedOnly == rhs.quarantinedOnly && lhs.since == rhs.since && lhs.limit == rhs.limit
    }

    /// The columns `events` prints, in order.
    public static let columns = [
        "seq", "received_at", "action", "entity_type", "entity_id", "updated_on", "status", "error", "source", "bytes",
    ]
}

/// One delivery of the log as `events show` prints it.
public struct LoggedDelivery: Sendable {
    /// The metadata's column names, in the order of `metadata`.
    public static let metadataColumns = [
        "seq", "received_at", "action", "action_id", "entity_type", "entity_id", "updated_on", "bytes",
        "body_sha256", "source", "signature", "status", "error",
    ]

    public let metadata: [Cell]
    /// The body exactly as received.
    public let body: [UInt8]

    public init(metadata: [Cell], body: [UInt8]) {
        self.metadata = metadata
        self.body = body
    }
}
