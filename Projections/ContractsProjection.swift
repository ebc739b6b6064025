import NexMirrorCore

/// Member contracts (`contracts`). Cancelling is an update (`cancelled` = 1), not a delete.
public struct ContractsProjection: Projection {
    public let name = "contracts"
    public let version = 1
    public let entityTypes: Set<String>? = ["CoworkerContract"]
    public let table = "contracts"
    public let columns = [
        "coworker_id", "issued_by_id", "tariff_id", "tariff_name", "price", "start_date",
        "renewal_date", "cancellation_date", "active", "cancelled",
    ]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.int64("CoworkerId")),
            SQLValue(try dto.int64("IssuedById")),
            SQLValue(try dto.int64("TariffId")),
            SQLValue(try dto.string("TariffName")),
            SQLValue(try dto.amount("Price")),
            SQLValue(try dto.timestamp("StartDate")),
            SQLValue(try dto.timestamp("RenewalDate")),
            SQLValue(try dto.timestamp("CancellationDate")),
            SQLValue(try dto.bool("Active")),
            SQLValue(try dto.bool("Cancelled")),
        ])
    }
}
