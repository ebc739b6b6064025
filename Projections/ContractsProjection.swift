import NexMirrorCore

/// Member contracts (`contracts`). Cancelling is an update (`cancelled` = 1), not a delete.
public struct ContractsProjection: Projection {
    public let name = "contracts"
    public let version = 1
    public let entityTypes: Set<String>? = ["CoworkerContract"]
    public let table = "contracts"
    /// The columns of `contracts` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("coworker_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("CoworkerId")) },
        ProjectedColumn("issued_by_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("IssuedById")) },
        ProjectedColumn("tariff_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("TariffId")) },
        ProjectedColumn("tariff_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("TariffName")) },
        ProjectedColumn("price") { dto throws(DTO.FieldError) in SQLValue(try dto.amount("Price")) },
        ProjectedColumn("start_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("StartDate")) },
        ProjectedColumn("renewal_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("RenewalDate")) },
        ProjectedColumn("cancellation_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("CancellationDate")) },
        ProjectedColumn("active") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Active")) },
        ProjectedColumn("cancelled") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Cancelled")) },
    ]
    public let columns = ContractsProjection.projected.map(\.name)

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }
}
