import NexMirrorCore

/// Check-ins (`checkins`); `to_time` stays NULL while the member is in.
public struct CheckinsProjection: Projection {
    public let name = "checkins"
    public let version = 1
    public let entityTypes: Set<String>? = ["Checkin"]
    public let table = "checkins"
    public let columns = ["coworker_id", "business_id", "from_time", "to_time", "source"]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.int64("CoworkerId")),
            SQLValue(try dto.int64("BusinessId")),
            SQLValue(try dto.timestamp("FromTime")),
            SQLValue(try dto.timestamp("ToTime")),
            SQLValue(Self.source(try dto.int64("Source"))),
        ])
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
