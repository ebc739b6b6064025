import NexMirrorCore

/// Proposals sent to prospective members (`proposals`).
public struct ProposalsProjection: Projection {
    public let name = "proposals"
    public let version = 1
    public let entityTypes: Set<String>? = ["Proposal"]
    public let table = "proposals"
    public let columns = [
        "coworker_id", "issued_by_id", "reference", "status", "price", "tariff_name",
        "start_date", "expiration_date",
    ]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.int64("CoworkerId")),
            SQLValue(try dto.int64("IssuedById")),
            SQLValue(try dto.string("Reference")),
            SQLValue(Self.status(try dto.int64("ProposalStatus"))),
            SQLValue(try dto.amount("Price")),
            SQLValue(try dto.string("TariffName")),
            SQLValue(try dto.timestamp("StartDate")),
            SQLValue(try dto.timestamp("ExpirationDate")),
        ])
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
