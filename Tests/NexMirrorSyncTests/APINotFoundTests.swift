import NexMirrorCore
import NexMirrorStore
import Testing
@testable import NexMirrorSync

/// A resource or business the API answers 404 for: logged under the kind's record action with
/// the `api-404` mark, and folded as a final delete by the shared fold rule.
@Suite struct APINotFoundTests {
    static let resources = NexudusKind.named("resources")!
    static let businesses = NexudusKind.named("businesses")!

    static func plan(_ delivery: NewDelivery, seq: Int64, signature: String?) throws -> FoldPlan {
        let preparation = FoldPreparation.of(
            seq: seq, action: delivery.action.name, entityType: delivery.entityType, body: delivery.body, status: "ok",
            signature: signature)
        guard case .fold(let plan) = preparation else {
            Issue.record("not folded: \(preparation)")
            throw CancellationError()
        }
        return plan
    }

    @Test func kindsWithoutADeleteActionLogTheAPIs404UnderTheirRecordAction() {
        let resource = Reconciler.deletion(70, of: Self.resources)
        #expect(resource.action.name == "None")
        #expect(resource.entityType == "Resource")
        #expect(resource.signature == .api404)
        #expect(resource.source == .api)
        #expect(resource.body == Array(#"{"Id":70}"#.utf8))
        #expect(resource.entityId == 70 && resource.updatedOn == nil && resource.problem == nil)
        #expect(Reconciler.deletion(2, of: Self.businesses).action.name == "BusinessUpdate")
        // Kinds with a Delete action keep it.
        #expect(Reconciler.deletion(202, of: NexudusKind.named("bookings")!).action.name == "BookingDelete")
    }

    @Test func theFoldDeletesByTheMarkAndTheTombstoneIsFinal() throws {
        let delivery = Reconciler.deletion(70, of: Self.resources)
        let delete = try Self.plan(delivery, seq: 5, signature: APINotFound.signature.rawValue)
        #expect(delete.version.isDelete && delete.version.updatedOn == nil && delete.row == nil)
        let held = FoldVersion(updatedOn: "2025-02-01T00:00:00.0000000Z", isDelete: false, seq: 3)
        #expect(FoldRule.changes(incoming: delete.version, row: held, tombstone: nil) == [.insertHistory, .deleteRow, .writeTombstone])
        // A later webhook, however new, does not resurrect it.
        let late = FoldVersion(updatedOn: "2030-01-01T00:00:00.0000000Z", isDelete: false, seq: 9)
        #expect(!FoldRule.changes(incoming: late, row: nil, tombstone: delete.version).contains(.upsertRow))
        // The same bytes without the mark are an ordinary record.
        let record = try Self.plan(delivery, seq: 5, signature: "api")
        #expect(!record.version.isDelete && record.row != nil)
    }
}
