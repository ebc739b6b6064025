import NexMirrorCore

/// Resource bookings (`bookings`). Nexudus bookings carry no business id.
public struct BookingsProjection: Projection {
    public let name = "bookings"
    public let version = 1
    public let entityTypes: Set<String>? = ["Booking"]
    public let table = "bookings"
    public let columns = [
        "coworker_id", "resource_id", "resource_name", "from_time", "to_time",
        "tentative", "online", "invoiced",
    ]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.int64("CoworkerId")),
            SQLValue(try dto.int64("ResourceId")),
            SQLValue(try dto.string("ResourceName")),
            SQLValue(try dto.timestamp("FromTime")),
            SQLValue(try dto.timestamp("ToTime")),
            SQLValue(try dto.bool("Tentative")),
            SQLValue(try dto.bool("Online")),
            SQLValue(try dto.bool("Invoiced")),
        ])
    }
}
