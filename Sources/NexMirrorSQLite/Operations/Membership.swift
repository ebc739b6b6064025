import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// Members over time (`nexmirror export membership`), from the coworker versions in the log.
///
/// A coworker is a member at instant T when the version the fold would hold from the versions
/// up to T (the same rule as `--as-of`: version time = `UpdatedOn`, a delivery without one
/// counts from its `received_at`) is not a delete and says `Active` and not `Archived` (and,
/// with a business, that its `InvoicingBusinessId` is that business). Versions that arrived
/// late count from their own time, which only the log can tell.
public struct MembershipMonth: Sendable, Equatable {
    /// `YYYY-MM`, UTC.
    public let month: String
    public let membersAtStart: Int
    public let joined: Int
    public let left: Int
    public let membersAtEnd: Int
}

public enum Membership {
    /// One row per UTC month from the month holding `from` (default: the first coworker
    /// version) to the month holding the instant before `to` (default: the last version).
    public static func months(
        db: Database, from: Timestamp? = nil, to: Timestamp? = nil, business: Int64? = nil
    ) throws -> [MembershipMonth] {
        let transitions = try self.transitions(db: db, business: business)
        guard let firstTime = from?.description ?? transitions.firstVersion,
              let lastTime = to.map({ Timestamp(ticks: $0.ticks - 1).description }) ?? transitions.lastVersion
        else { return [] }

        var month = String(firstTime.prefix(7))
        let lastMonth = String(lastTime.prefix(7))
        var members = 0
        var index = 0
        let changes = transitions.changes
        var result: [MembershipMonth] = []
        while month <= lastMonth {
            let start = month + "-01T00:00:00.0000000Z"
            let next = nextMonth(month)
            let end = next + "-01T00:00:00.0000000Z"
            // Versions at exactly the first instant of a month belong to its start.
            while index < changes.count, changes[index].time <= start {
                members += changes[index].delta
                index += 1
            }
            let atStart = members
            var joined = 0
            var left = 0
            while index < changes.count, changes[index].time <= end {
                if changes[index].delta > 0 { joined += 1 } else { left += 1 }
                members += changes[index].delta
                index += 1
            }
            result.append(MembershipMonth(
                month: month, membersAtStart: atStart, joined: joined, left: left, membersAtEnd: members))
            month = next
        }
        return result
    }

    struct Transition {
        let time: String
        let delta: Int
    }

    struct Transitions {
        var changes: [Transition] = []
        var firstVersion: String?
        var lastVersion: String?
    }

    /// Every change of membership (+1 joined, -1 left), in time order.
    static func transitions(db: Database, business: Int64?) throws -> Transitions {
        let projection = CoworkersProjection()
        let active = projection.columns.firstIndex(of: "active")!
        let archived = projection.columns.firstIndex(of: "archived")!
        let businessColumn = projection.columns.firstIndex(of: "business_id")!

        struct Version {
            let time: String
            let fold: FoldVersion
            let isMember: Bool
        }
        var byCoworker: [Int64: [Version]] = [:]
        var result = Transitions()
        let rows = try Row.fetchCursor(db, sql: """
            SELECT seq, action, received_at, body, entity_id FROM events
            WHERE entity_type = 'Coworker' AND entity_id IS NOT NULL AND status = 'ok' ORDER BY seq
            """)
        while let row = try rows.next() {
            guard let action = ActionCatalog.action(named: row[1] as String) else { continue }
            let seq: Int64 = row[0]
            let id: Int64 = row[4]
            guard let decoded = try? DeliveryBody.decode([UInt8](row[3] as Data), for: action) else { continue }
            var isMember = false
            if !action.isDelete {
                let input = FoldInput(
                    seq: seq, action: action, entityType: "Coworker", entityId: id, updatedOn: decoded.updatedOn,
                    dto: decoded.dto, dtoJSON: "")
                // The fold quarantines what it cannot project; so is it left out here.
                guard let values = try? projection.project(input).values else { continue }
                isMember = values[active] == .integer(1) && values[archived] == .integer(0)
                    && (business == nil || values[businessColumn] == .integer(business!))
            }
            let updatedOn = decoded.updatedOn?.description
            let time = updatedOn ?? (row[2] as String)
            byCoworker[id, default: []].append(Version(
                time: time, fold: FoldVersion(updatedOn: updatedOn, isDelete: action.isDelete, seq: seq),
                isMember: isMember))
            if result.firstVersion.map({ time < $0 }) ?? true { result.firstVersion = time }
            if result.lastVersion.map({ time > $0 }) ?? true { result.lastVersion = time }
        }

        for versions in byCoworker.values {
            let ordered = versions.sorted { ($0.time, $0.fold) < ($1.time, $1.fold) }
            var current: Version?
            var member = false
            var index = 0
            while index < ordered.count {
                // Versions with the same time take effect together: no transient flip between them.
                let time = ordered[index].time
                while index < ordered.count, ordered[index].time == time {
                    if current.map({ ordered[index].fold > $0.fold }) ?? true { current = ordered[index] }
                    index += 1
                }
                let now = current?.isMember ?? false
                if now != member {
                    result.changes.append(Transition(time: time, delta: now ? 1 : -1))
                    member = now
                }
            }
        }
        result.changes.sort { $0.time < $1.time }
        return result
    }

    static func nextMonth(_ month: String) -> String {
        let year = Int(month.prefix(4))!
        let number = Int(month.suffix(2))!
        return number == 12 ? String(format: "%04d-01", year + 1) : String(format: "%04d-%02d", year, number + 1)
    }
}
