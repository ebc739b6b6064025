import PropertyBased
import Testing
import NexMirrorStore

/// The fold rule on its own, without a database: versions in, replica changes out.
@Suite struct FoldDecisionTests {
    static let t1 = "2026-03-02T08:00:00.0000000Z"
    static let t2 = "2026-03-02T08:00:00.0000001Z"  // 100 ns later
    static func update(_ on: String?, _ seq: Int64) -> FoldVersion { FoldVersion(updatedOn: on, isDelete: false, seq: seq) }
    static func delete(_ on: String?, _ seq: Int64) -> FoldVersion { FoldVersion(updatedOn: on, isDelete: true, seq: seq) }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let incoming: FoldVersion
        let row: FoldVersion?
        let tombstone: FoldVersion?
        let expected: ReplicaChanges
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "first version is upserted", incoming: update(t1, 1), row: nil, tombstone: nil,
             expected: [.insertHistory, .upsertRow]),
        Case(name: "newer UpdatedOn replaces the row", incoming: update(t2, 2), row: update(t1, 1), tombstone: nil,
             expected: [.insertHistory, .upsertRow]),
        Case(name: "older UpdatedOn only adds history, even from a later seq", incoming: update(t1, 9),
             row: update(t2, 1), tombstone: nil, expected: [.insertHistory]),
        Case(name: "equal UpdatedOn: the later seq wins", incoming: update(t1, 3), row: update(t1, 2), tombstone: nil,
             expected: [.insertHistory, .upsertRow]),
        Case(name: "equal UpdatedOn: the earlier seq loses", incoming: update(t1, 2), row: update(t1, 3), tombstone: nil,
             expected: [.insertHistory]),
        Case(name: "redelivery of the row's own version changes nothing but history", incoming: update(t1, 2),
             row: update(t1, 2), tombstone: nil, expected: [.insertHistory]),
        Case(name: "a version without UpdatedOn is older than any dated one", incoming: update(nil, 9),
             row: update(t1, 1), tombstone: nil, expected: [.insertHistory]),
        Case(name: "delete removes an older row and leaves a tombstone", incoming: delete(t2, 2), row: update(t1, 1),
             tombstone: nil, expected: [.insertHistory, .deleteRow, .writeTombstone]),
        Case(name: "delete wins a tie with an update, whatever the seq", incoming: delete(t1, 1), row: update(t1, 2),
             tombstone: nil, expected: [.insertHistory, .deleteRow, .writeTombstone]),
        Case(name: "an older delete keeps a newer row but still records its tombstone", incoming: delete(t1, 5),
             row: update(t2, 1), tombstone: nil, expected: [.insertHistory, .writeTombstone]),
        Case(name: "delete of an entity never seen leaves a tombstone", incoming: delete(t1, 1), row: nil,
             tombstone: nil, expected: [.insertHistory, .writeTombstone]),
        Case(name: "update at the tombstone's UpdatedOn does not resurrect", incoming: update(t1, 9), row: nil,
             tombstone: delete(t1, 1), expected: [.insertHistory]),
        Case(name: "update after the tombstone resurrects", incoming: update(t2, 1), row: nil,
             tombstone: delete(t1, 5), expected: [.insertHistory, .upsertRow]),
        Case(name: "delete without UpdatedOn is final", incoming: update("9999-12-31T23:59:59.9999999Z", 9), row: nil,
             tombstone: delete(nil, 1), expected: [.insertHistory]),
        Case(name: "a final delete beats a dated tombstone", incoming: delete(nil, 1), row: nil,
             tombstone: delete(t2, 2), expected: [.insertHistory, .writeTombstone]),
        Case(name: "an older delete keeps the newer tombstone", incoming: delete(t1, 9), row: nil,
             tombstone: delete(t2, 1), expected: [.insertHistory]),
        Case(name: "versions 100 ns apart are ordered", incoming: update(t2, 1), row: update(t1, 2), tombstone: nil,
             expected: [.insertHistory, .upsertRow]),
    ]

    @Test(arguments: cases) func decision(_ test: Case) {
        #expect(FoldRule.changes(incoming: test.incoming, row: test.row, tombstone: test.tombstone) == test.expected)
    }

    /// One entity's replica state, changed only through the decision.
    struct Replica: Equatable {
        var row: FoldVersion?
        var tombstone: FoldVersion?
        var history: Set<Int64> = []

        mutating func fold(_ incoming: FoldVersion) {
            let changes = FoldRule.changes(incoming: incoming, row: row, tombstone: tombstone)
            if changes.contains(.insertHistory) { history.insert(incoming.seq) }
            if changes.contains(.writeTombstone) { tombstone = incoming }
            if changes.contains(.deleteRow) { row = nil }
            if changes.contains(.upsertRow) { row = incoming }
        }
    }

    /// Each gene is one delivery of one entity: an instant out of a few (so ties happen), or none,
    /// and whether it is a delete; its index is its seq.
    static func versions(_ genes: [Int]) -> [FoldVersion] {
        genes.enumerated().map { index, gene in
            let instant = gene % 5 == 0 ? nil : "2026-03-02T08:00:00.000000\(gene % 5)Z"
            return FoldVersion(updatedOn: instant, isDelete: gene / 5 % 3 == 0, seq: Int64(index + 1))
        }
    }

    @Test func orderOfApplicationNeverChangesTheEndState() async {
        await propertyCheck(
            count: 300, input: Gen.int(in: 0...1_000).array(of: 1...12), Gen.int(in: 0...1_000).array(of: 25)
        ) { genes, keys in
            let versions = Self.versions(genes)
            var inOrder = Replica()
            for version in versions { inOrder.fold(version) }

            // Some deliveries again, then all in the order of random keys.
            let repeated = versions + versions.prefix(keys[24] % (versions.count + 1))
            let arrivals = zip(keys, repeated).sorted { $0.0 < $1.0 }.map(\.1)
            var shuffled = Replica()
            for version in arrivals { shuffled.fold(version) }
            #expect(shuffled == inOrder)

            // The end state is the rule's, not just some order-independent one.
            let newestDelete = versions.filter(\.isDelete).max()
            let newest = versions.max()
            #expect(inOrder.tombstone == newestDelete)
            #expect(inOrder.row == (newest?.isDelete == false ? newest : nil))
            #expect(inOrder.history == Set(versions.map(\.seq)))
        }
    }
}
