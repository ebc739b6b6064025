import NexMirrorCore

/// One kind of record `nexmirror sync` reconciles: where the API lists it, where the replica
/// keeps it, and the catalog actions its API records and detected deletes are logged as.
public struct NexudusKind: Sendable, Hashable {
    /// The name on the command line and in `sync_state.kind`: a replica table, or `tariffs`,
    /// `resources`, `businesses` (kept in `entities`).
    public let name: String
    public let entityType: String
    /// API path under the base URL, e.g. `spaces/coworkers`.
    public let path: String
    /// The replica table holding its rows; `entities` is keyed by (`entity_type`, `id`).
    public let table: String
    /// API records are logged as the kind's update action: the fold orders versions by
    /// `UpdatedOn`, not by action, and an update claims no more than the record shows.
    /// Resource has no webhook action, so its records are logged as `None` with entity type
    /// `Resource`.
    public let recordAction: WebhookAction
    /// What a sync-detected delete (gone from the list, 404 on `GET …/{id}`) is logged as; nil
    /// for kinds no catalog action deletes (resources, businesses), which are then only reported.
    public let deleteAction: WebhookAction?

    public var inEntitiesTable: Bool { table == "entities" }

    init(_ name: String, _ entityType: String, _ path: String, table: String? = nil, record: String, delete: String?) {
        self.name = name
        self.entityType = entityType
        self.path = path
        self.table = table ?? name
        recordAction = ActionCatalog.action(named: record)!
        deleteAction = delete.map { ActionCatalog.action(named: $0)! }
    }

    /// Every kind, in the order a full sync visits them: locations and tariffs first, since
    /// other records refer to them.
    public static let all: [NexudusKind] = [
        .init("businesses", "Business", "sys/businesses", table: "entities", record: "BusinessUpdate", delete: nil),
        .init("tariffs", "Tariff", "billing/tariffs", table: "entities", record: "TariffUpdate", delete: "TariffDelete"),
        .init("resources", "Resource", "spaces/resources", table: "entities", record: "None", delete: nil),
        .init("coworkers", "Coworker", "spaces/coworkers", record: "CoworkerUpdate", delete: "CoworkerDelete"),
        .init("teams", "Team", "spaces/teams", record: "TeamUpdated", delete: "TeamDeleted"),
        .init("contracts", "CoworkerContract", "billing/coworkercontracts", record: "CoworkerContractUpdate", delete: "CoworkerContractDelete"),
        .init("proposals", "Proposal", "billing/proposals", record: "ProposalUpdated", delete: "ProposalDeleted"),
        .init("bookings", "Booking", "spaces/bookings", record: "BookingUpdate", delete: "BookingDelete"),
        .init("checkins", "Checkin", "spaces/checkins", record: "CheckinUpdated", delete: "CheckinDeleted"),
        .init("invoices", "CoworkerInvoice", "billing/coworkerinvoices", record: "CoworkerInvoiceUpdate", delete: "CoworkerInvoiceDelete"),
    ]

    public static func named(_ name: String) -> NexudusKind? {
        let lowered = name.lowercased()
        return all.first { $0.name == lowered || $0.entityType.lowercased() == lowered }
    }
}
