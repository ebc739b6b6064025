import NexMirrorCore

/// Resource bookings (`bookings`). Nexudus bookings carry no business id.
public struct BookingsProjection: Projection {
    public let name = "bookings"
    public let version = 1
    public let entityTypes: Set<String>? = ["Booking"]
    public let table = "bookings"
    /// The columns of `bookings` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("coworker_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("CoworkerId")) },
        ProjectedColumn("resource_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("ResourceId")) },
        ProjectedColumn("resource_name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("ResourceName")) },
        ProjectedColumn("from_time") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("FromTime")) },
        ProjectedColumn("to_time") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("ToTime")) },
        ProjectedColumn("tentative") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Tentative")) },
        ProjectedColumn("online") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Online")) },
        ProjectedColumn("invoiced") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Invoiced")) },
    ]
    public let columns = BookingsProjection.projected.map(\.name)

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }
}
