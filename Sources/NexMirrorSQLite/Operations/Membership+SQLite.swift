import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore

extension Membership {
    /// Reads the coworker versions from the log and counts members per month.
    public static func months(
        db: Database, from: Timestamp? = nil, to: Timestamp? = nil, business: Int64? = nil
    ) throws -> [MembershipMonth] {
        var versions = CoworkerVersions(business: business)
        let rows = try Row.fetchCursor(db, sql: CoworkerVersions.sql)
        while let row = try rows.next() {
            versions.add(seq: row[0], action: row[1], receivedAt: row[2], body: [UInt8](row[3] as Data), entityId: row[4])
        }
        return months(versions, from: from, to: to)
    }
}
