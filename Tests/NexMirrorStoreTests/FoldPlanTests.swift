import Foundation
import NexMirrorCore
import NexMirrorStore
import NexudusFixtures
import Testing

/// What a delivery means for the replica, worked out without a database.
@Suite struct FoldPlanTests {
    static let fixtures = try! FileManager.default.contentsOfDirectory(atPath: NexudusFixtures.directory.path)
        .filter { $0.hasSuffix(".json") && $0 != "emoji-name.json" }.map { String($0.dropLast(5)) }.sorted()

    static func plan(_ name: String, seq: Int64 = 1) throws -> FoldPreparation {
        let body = Array(try Data(contentsOf: NexudusFixtures.directory.appendingPathComponent("\(name).json")))
        let action = try #require(ActionCatalog.action(named: name))
        return FoldPreparation.of(seq: seq, action: name, entityType: action.entityType, body: body, status: "ok", signature: nil)
    }

    @Test(arguments: fixtures) func everyFixturePairsEachColumnWithItsValue(_ name: String) throws {
        guard case .fold(let plan) = try Self.plan(name) else {
            Issue.record("\(name) was not folded")
            return
        }
        guard let row = plan.row else {
            #expect(plan.version.isDelete, "\(name): only a delete has no row")
            return
        }
        #expect(row.columns == ProjectedRow.columns(of: plan.projection))
        #expect(row.values.count == row.columns.count)
        #expect(plan.children.count == plan.projection.childTables.count)
    }

    @Test func aCoworkerRowHoldsItsFieldsUnderTheirColumns() throws {
        guard case .fold(let plan) = try Self.plan("CoworkerCreate", seq: 7), let row = plan.row else {
            Issue.record("CoworkerCreate was not folded")
            return
        }
        let values = Dictionary(uniqueKeysWithValues: row.pairs.map { ($0, $1) })
        #expect(values["id"] == .integer(1_419_000_582))
        #expect(values["email"] == .text("m1419000582@example.org"))
        #expect(values["seq"] == .integer(7))
        #expect(plan.version == FoldVersion(updatedOn: values["updated_on"]?.description, isDelete: false, seq: 7))
    }

    @Test func quarantinedOrForeignDeliveriesAreSkipped() {
        let body = Array(#"[{"Id":1}]"#.utf8)
        guard case .skip = FoldPreparation.of(seq: 1, action: "CoworkerCreate", entityType: "Coworker", body: body,
                                              status: "quarantined", signature: nil) else {
            Issue.record("a quarantined delivery was folded")
            return
        }
        guard case .skip = FoldPreparation.of(seq: 1, action: "CoworkerCreate", entityType: "Coworker", body: body,
                                              status: "ok", signature: nil, selected: ["bookings"]) else {
            Issue.record("another projection's delivery was folded")
            return
        }
        guard case .quarantine(let reason) = FoldPreparation.of(
            seq: 1, action: "CoworkerCreate", entityType: "Coworker", body: Array("{}".utf8), status: "ok", signature: nil) else {
            Issue.record("an object body was folded")
            return
        }
        #expect(!reason.isEmpty)
    }
}
