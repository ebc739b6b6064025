import NexMirrorCore

/// Teams (`teams`) and their members (`team_members`, from the DTO's `TeamMembers`).
public struct TeamsProjection: Projection {
    public let name = "teams"
    public let version = 1
    public let entityTypes: Set<String>? = ["Team"]
    public let table = "teams"
    /// The columns of `teams` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("name") { dto throws(DTO.FieldError) in SQLValue(try dto.string("Name")) },
        ProjectedColumn("business_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("BusinessId")) },
        ProjectedColumn("paying_member_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("PayingMemberId")) },
    ]
    public let columns = TeamsProjection.projected.map(\.name)
    public let childTables = [ChildTable(name: "team_members", parentColumn: "team_id", columns: ["coworker_id"])]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let members = Set(try input.dto.int64Array("TeamMembers")).sorted()
        return ProjectedEntity(
            values: try Self.projected.values(of: input.dto),
            children: ["team_members": members.map { [.integer($0)] }])
    }
}
