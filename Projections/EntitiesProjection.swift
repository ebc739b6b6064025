import NexMirrorCore

/// Every other entity that carries an `Id` (tariffs, products, calendar events, …), latest
/// version per (`entity_type`, `id`), so nothing Nexudus sends is out of reach of SQL.
public struct EntitiesProjection: Projection {
    public let name = "entities"
    public let version = 1
    public let entityTypes: Set<String>? = nil
    public let table = "entities"
    public let columns = ["action"]
    public let keyedByEntityType = true

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: [.text(input.action.name)])
    }
}
