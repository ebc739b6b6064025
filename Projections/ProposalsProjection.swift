import NexMirrorCore

/// Proposals sent to prospective members (`proposals`).
public struct ProposalsProjection: Projection {
    public let name = "proposals"
    public let version = 1
    public let entityTypes: Set<String>? = ["Proposal"]
    public let table = "proposals"
    /// The columns of `proposals` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("coworker_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("CoworkerId")) },
        ProjectedColumn("issued_by_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("IssuedById")) },
        ProjectedColumn("reference") { dto throws(DTO.FieldError) in SQLValue(try dto.string("Reference")) },
        ProjectedColumn("status") { dto throws(DTO.FieldError) in SQLValue(ProposalsProjection.status(try dto.int64("ProposalStatus"))) },
        ProjectedColumn("price") { dto throws(DTO.FieldError) in SQLValue(try dto.amount("Price")) },
        ProjectedColumn("tariff_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("TariffName")) },
        ProjectedColumn("start_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("StartDate")) },
        ProjectedColumn("expiration_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("ExpirationDate")) },
    ]
    public let columns = ProposalsProjection.projected.map(\.name)

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }

    static func status(_ code: Int64?) -> String? {
        switch code {
        case nil: nil
        case 1: "draft"
        case 2: "sent"
        case 3: "accepted"
        case 4: "rejected"
        case let other?: String(other)
        }
    }
}
