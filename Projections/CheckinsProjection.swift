import NexMirrorCore

/// Check-ins (`checkins`); `to_time` stays NULL while the member is in.
public struct CheckinsProjection: Projection {
    public let name = "checkins"
    public let version = 1
    public let entityTypes: Set<String>? = ["Checkin"]
    public let table = "checkins"
    /// The columns of `checkins` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("coworker_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("CoworkerId")) },
        ProjectedColumn("business_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("BusinessId")) },
        ProjectedColumn("from_time") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("FromTime")) },
        ProjectedColumn("to_time") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("ToTime")) },
        ProjectedColumn("source") { dto throws(DTO.FieldError) in SQLValue(CheckinsProjection.source(try dto.int64("Source"))) },
    ]
    public let columns = CheckinsProjection.projected.map(\.name)

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }

    static func source(_ code: Int64?) -> String? {
        switch code {
        case nil: nil
        case 0: "none"
        case 1: "manual"
        case 2: "door_access"
        case 3: "network_activity"
        case 4: "tile"
        case 5: "sensor"
        case let other?: String(other)
        }
    }
}
