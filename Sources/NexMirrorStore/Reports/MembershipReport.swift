/// `export membership`: members per month from the log's versions (see `Membership`).
public enum MembershipReport {
    public static let columns = ["month", "members_at_start", "joined", "left", "members_at_end"]

    public static func write(_ months: [MembershipMonth], to writer: inout some RowWriter) throws {
        try writer.begin(columns: columns)
        for month in months {
            try writer.write([
                .text(month.month), .integer(Int64(month.membersAtStart)), .integer(Int64(month.joined)),
                .integer(Int64(month.left)), .integer(Int64(month.membersAtEnd)),
            ])
        }
        try writer.end()
    }
}
