import NexMirrorCore

/// Teams (`teams`) and their members (`team_members`, from the DTO's `TeamMembers`).
public struct TeamsProjection: Projection {
    public let name = "teams"
    public let version = 1
    public let entityTypes: Set<String>? = ["Team"]
    public let table = "teams"
    public let columns = ["name", "business_id", "paying_member_id"]
    public let childTables = [ChildTable(name: "team_members", parentColumn: "team_id", columns: ["coworker_id"])]

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        let members = Set(try dto.int64Array("TeamMembers")).sorted()
        return ProjectedEntity(
            values: [
                SQLValue(try dto.string("Name")),
                SQLValue(try dto.int64("BusinessId")),
                SQLValue(try dto.int64("PayingMemberId")),
            ],
            children: ["team_members": members.map { [.integer($0)] }])
    }
}
