import NexMirrorCore

/// Members and companies (`coworkers`; the `members` view keeps the active, unarchived ones).
public struct CoworkersProjection: Projection {
    public let name = "coworkers"
    public let version = 1
    public let entityTypes: Set<String>? = ["Coworker"]
    public let table = "coworkers"
    /// The columns of `coworkers` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("full_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("FullName")) },
        ProjectedColumn("email") { dto throws(DTO.FieldError) in SQLValue(try dto.string("Email")) },
        ProjectedColumn("company_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("CompanyName")) },
        ProjectedColumn("coworker_type") { dto throws(DTO.FieldError) in SQLValue(CoworkersProjection.coworkerType(try dto.int64("CoworkerType"))) },
        ProjectedColumn("active") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Active")) },
        ProjectedColumn("archived") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Archived")) },
        ProjectedColumn("tariff_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("TariffId")) },
        ProjectedColumn("tariff_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("TariffName")) },
        ProjectedColumn("business_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("InvoicingBusinessId")) },
    ]
    public let columns = CoworkersProjection.projected.map(\.name)

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }

    static func coworkerType(_ code: Int64?) -> String? {
        switch code {
        case nil: nil
        case 1: "individual"
        case 2: "company"
        case let other?: String(other)
        }
    }
}
