import NexMirrorCore

/// Members and companies (`coworkers`; the `members` view keeps the active, unarchived ones).
public struct CoworkersProjection: Projection {
    public let name = "coworkers"
    public let version = 1
    public let entityTypes: Set<String>? = ["Coworker"]
    public let table = "coworkers"
    public let columns = [
        "full_name", "email", "company_name", "coworker_type", "active", "archived",
        "tariff_id", "tariff_name", "business_id",
    ]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.string("FullName")),
            SQLValue(try dto.string("Email")),
            SQLValue(try dto.string("CompanyName")),
            SQLValue(Self.coworkerType(try dto.int64("CoworkerType"))),
            SQLValue(try dto.bool("Active")),
            SQLValue(try dto.bool("Archived")),
            SQLValue(try dto.int64("TariffId")),
            SQLValue(try dto.string("TariffName")),
            SQLValue(try dto.int64("InvoicingBusinessId")),
        ])
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
