import NexMirrorCore
import NexMirrorStore
import PropertyBased
import Testing

/// The batch-fold planner on its own, without a database: a batch's plans and the stored
/// versions in, the end state every backend writes out.
@Suite struct BatchFoldTests {
    static let t1 = "2026-03-02T08:00:00.0000000Z"
    static let t2 = "2026-03-02T08:00:00.0000001Z"  // 100 ns later
    static let t3 = "2026-03-02T09:00:00.0000000Z"

    /// One delivery of `action` for entity `id`, projected as the fold does.
    static func plan(
        _ seq: Int64, _ action: String, id: Int64, updatedOn: String?, fields: String = ""
    ) -> FoldPlan {
        let dated = updatedOn.map { #","UpdatedOn":"\#($0)""# } ?? ""
        let body = Array(#"[{"Id":\#(id)\#(dated)\#(fields)}]"#.utf8)
        let entityType = ActionCatalog.action(named: action)!.entityType
        guard case .fold(let plan) = FoldPreparation.of(
            seq: seq, action: action, entityType: entityType, body: body, status: "ok", signature: nil)
        else { fatalError("\(action) \(id) was not folded") }
        return plan
    }

    static func team(_ seq: Int64, id: Int64 = 5, _ updatedOn: String?, members: [Int64]) -> FoldPlan {
        plan(seq, "TeamUpdated", id: id, updatedOn: updatedOn,
             fields: #","Name":"team \#(seq)","TeamMembers":[\#(members.map(String.init).joined(separator: ","))]"#)
    }

    /// The replica as a backend holds it, changed only by writing a `BatchFold`'s end state.
    struct Replica: Equatable {
        var rows: [FoldRowKey: (FoldVersion, [SQLValue])] = [:]
        var tombstones: [FoldTombstoneKey: [SQLValue]] = [:]
        /// Per child table, its rows (the parent's id first).
        var children: [String: Set<[SQLValue]>] = [:]
        /// Per history table, its rows by seq.
        var history: [String: [Int64: [SQLValue]]] = [:]

        static func == (lhs: Replica, rhs: Replica) -> Bool {
            lhs.rows.mapValues { $0.0 } == rhs.rows.mapValues { $0.0 } && lhs.rows.mapValues { $0.1 } == rhs.rows.mapValues { $0.1 }
                && lhs.tombstones == rhs.tombstones && lhs.children == rhs.children && lhs.history == rhs.history
        }

        /// What a backend reads before deciding `plans`.
        func stored(for plans: [FoldPlan]) -> StoredVersions {
            var versions = StoredVersions()
            let lookups = StoredVersions.lookups(of: plans)
            for plan in lookups.rows { versions.rows[plan.rowKey] = rows[plan.rowKey]?.0 }
            for plan in lookups.tombstones {
                if let values = tombstones[plan.tombstoneKey], case .integer(let seq) = values[3] {
                    versions.tombstones[plan.tombstoneKey] = FoldVersion(
                        updatedOn: values[2].textValue, isDelete: true, seq: seq)
                }
            }
            return versions
        }

        /// Writes as the backends do: history insert-or-ignore, tombstones upserted, then each
        /// touched row deleted or replaced with its child rows.
        mutating func write(_ fold: BatchFold) {
            for entry in fold.histories {
                let table = entry.projection.historyTable!.name
                for row in entry.rows {
                    guard case .integer(let seq) = row[0] else { continue }
                    if history[table, default: [:]][seq] == nil { history[table, default: [:]][seq] = row }
                }
            }
            for plan in fold.tombstones { tombstones[plan.tombstoneKey] = plan.tombstoneValues }
            for written in fold.rows {
                for plan in written.deleted { rows[plan.rowKey] = nil }
                let parents = Set(written.parents.map(SQLValue.integer))
                for plan in written.upserted { rows[plan.rowKey] = (plan.version, plan.row!.values) }
                for (index, child) in written.projection.childTables.enumerated() {
                    let kept = children[child.name, default: []].filter { !parents.contains($0[0]) }
                    let table = kept.union(written.children(index))
                    children[child.name] = table.isEmpty ? nil : table
                }
            }
        }

        mutating func fold(_ plans: [FoldPlan]) {
            write(BatchFold.decide(plans, against: stored(for: plans)))
        }
    }

    /// Each gene is one delivery: one of five entities (two teams with members, an invoice with
    /// history, a tariff and a product under the same id), an instant out of a few or none, and
    /// whether it is a delete; its index is its seq.
    static func deliveries(_ genes: [Int]) -> [FoldPlan] {
        genes.enumerated().map { index, gene in
            let seq = Int64(index + 1)
            let instant = gene % 4 == 0 ? nil : "2026-03-02T08:00:00.000000\(gene % 4)Z"
            let isDelete = gene / 4 % 3 == 0
            switch gene / 12 % 5 {
            case 0, 1:
                let id: Int64 = gene / 12 % 5 == 0 ? 5 : 6
                return isDelete
                    ? plan(seq, "TeamDeleted", id: id, updatedOn: instant)
                    : team(seq, id: id, instant, members: [Int64(gene % 3), Int64(gene % 7) + 10])
            case 2:
                return plan(seq, isDelete ? "CoworkerInvoiceDelete" : "CoworkerInvoiceUpdate", id: 9, updatedOn: instant,
                            fields: isDelete ? "" : #","InvoiceNumber":"I\#(seq)""#)
            case 3:
                return plan(seq, isDelete ? "TariffDelete" : "TariffUpdate", id: 7, updatedOn: instant,
                            fields: isDelete ? "" : #","Name":"tariff \#(seq)""#)
            default:
                return plan(seq, isDelete ? "ProductDelete" : "ProductUpdate", id: 7, updatedOn: instant,
                            fields: isDelete ? "" : #","Name":"product \#(seq)""#)
            }
        }
    }

    @Test func anyBatchingOrderAndDuplicationConvergesToTheFoldOfEachDeliveryInLogOrder() async {
        await propertyCheck(
            count: 200, input: Gen.int(in: 0...10_000).array(of: 1...24), Gen.int(in: 0...1_000).array(of: 40)
        ) { genes, keys in
            let plans = Self.deliveries(genes)
            var oneByOne = Replica()
            for plan in plans { oneByOne.fold([plan]) }

            // Some deliveries again, all in the order of random keys, in batches of 1 to 6.
            let repeated = plans + plans.prefix(keys[39] % (plans.count + 1))
            var arrivals = zip(keys, repeated).sorted { $0.0 < $1.0 }.map(\.1)
            var batched = Replica()
            var cut = 0
            while !arrivals.isEmpty {
                let size = min(arrivals.count, keys[cut % keys.count] % 6 + 1)
                batched.fold(Array(arrivals.prefix(size)))
                arrivals.removeFirst(size)
                cut += 1
            }
            #expect(batched == oneByOne)

            // And the end state is the rule's: per entity its greatest version, if not a delete.
            var byKey: [FoldRowKey: FoldPlan] = [:]
            for plan in plans where byKey[plan.rowKey].map({ plan.version > $0.version }) ?? true { byKey[plan.rowKey] = plan }
            for (key, newest) in byKey {
                #expect(oneByOne.rows[key]?.1 == (newest.version.isDelete ? nil : newest.row!.values))
            }
        }
    }

    @Test func aDeleteBeatsAnOlderUpdateInTheSameBatchInEitherOrder() {
        let update = Self.team(1, Self.t1, members: [1])
        let delete = Self.plan(2, "TeamDeleted", id: 5, updatedOn: Self.t2)
        let inOrder = BatchFold.decide([update, delete], against: StoredVersions())
        #expect(inOrder.rows.flatMap(\.states).map(\.plan.version.seq) == [2])
        #expect(inOrder.rows.flatMap(\.deleted).count == 1)
        #expect(inOrder.tombstones.map(\.version.seq) == [2])
        #expect(inOrder.deleted == [update.rowKey])

        // The delete first: the older update never writes a row.
        let reversed = BatchFold.decide([delete, update], against: StoredVersions())
        #expect(reversed.rows.isEmpty)
        #expect(reversed.tombstones.map(\.version.seq) == [2])
    }

    @Test func aDeleteRemovesTheStoredRowAndItsChildren() {
        let delete = Self.plan(3, "TeamDeleted", id: 5, updatedOn: Self.t2)
        let stored = StoredVersions(rows: [delete.rowKey: FoldVersion(updatedOn: Self.t1, isDelete: false, seq: 1)])
        let fold = BatchFold.decide([delete], against: stored)
        #expect(fold.rows.count == 1)
        #expect(fold.rows[0].deleted.map(\.entityId) == [5])
        #expect(fold.rows[0].parents == [5])
        #expect(fold.rows[0].children(0).isEmpty)
    }

    @Test func tombstonesKeepEachEntitysGreatestDeleteOnce() {
        let older = Self.plan(1, "TariffDelete", id: 7, updatedOn: Self.t1)
        let final = Self.plan(2, "TariffDelete", id: 7, updatedOn: nil)
        let newer = Self.plan(3, "TariffDelete", id: 7, updatedOn: Self.t3)
        let fold = BatchFold.decide([older, final, newer], against: StoredVersions())
        #expect(fold.tombstones.map(\.version.seq) == [2], "a delete without UpdatedOn is final")
        #expect(fold.tombstones[0].tombstoneValues == [.text("Tariff"), .integer(7), .null, .integer(2)])
        #expect(fold.rows.isEmpty, "no row to remove")

        // Against a newer stored tombstone, an older delete writes none.
        let stored = StoredVersions(tombstones: [older.tombstoneKey: FoldVersion(updatedOn: Self.t2, isDelete: true, seq: 9)])
        #expect(BatchFold.decide([older], against: stored).tombstones.isEmpty)
        #expect(BatchFold.decide([newer], against: stored).end.tombstones[newer.tombstoneKey]?.seq == 3)
    }

    @Test func anUpdateAtTheTombstonesVersionDoesNotResurrect() {
        let update = Self.plan(5, "TariffUpdate", id: 7, updatedOn: Self.t1, fields: #","Name":"back""#)
        let stored = StoredVersions(tombstones: [update.tombstoneKey: FoldVersion(updatedOn: Self.t1, isDelete: true, seq: 1)])
        let fold = BatchFold.decide([update], against: stored)
        #expect(fold.rows.isEmpty)
        #expect(fold.tombstones.isEmpty)
    }

    @Test func childRowsAreReplacedWithTheirParentsWinningVersion() {
        let first = Self.team(1, Self.t1, members: [1, 2])
        let second = Self.team(2, Self.t2, members: [3])
        let stale = Self.team(3, Self.t1, members: [4])
        let fold = BatchFold.decide([first, second, stale], against: StoredVersions())
        #expect(fold.rows.count == 1)
        #expect(fold.rows[0].upserted.map(\.version.seq) == [2], "each entity written once, at its winning version")
        #expect(fold.rows[0].parents == [5])
        #expect(fold.rows[0].children(0) == [[.integer(5), .integer(3)]])

        var replica = Replica()
        replica.fold([first])
        replica.fold([second, stale])
        #expect(replica.children["team_members"] == [[.integer(5), .integer(3)]])
    }

    @Test func historyHoldsOneRowPerDeliveryWinnerOrNot() {
        let plans = [
            Self.plan(1, "CoworkerInvoiceUpdate", id: 9, updatedOn: Self.t2, fields: #","InvoiceNumber":"a""#),
            Self.plan(2, "CoworkerInvoiceUpdate", id: 9, updatedOn: Self.t1, fields: #","InvoiceNumber":"b""#),
            Self.plan(3, "CoworkerInvoiceDelete", id: 9, updatedOn: Self.t1),
            Self.team(4, Self.t1, members: []),
        ]
        let fold = BatchFold.decide(plans, against: StoredVersions())
        #expect(fold.histories.map(\.projection.name) == ["invoices"])
        #expect(fold.histories[0].rows.map { $0[0] } == [.integer(1), .integer(2), .integer(3)])
        #expect(fold.rows.map(\.projection.name) == ["invoices", "teams"], "by projection name")
        #expect(fold.rows[0].upserted.map(\.version.seq) == [1])
    }

    @Test func entitiesOfTwoTypesUnderOneIdKeepTheirOwnRowsAndTombstones() {
        let tariff = Self.plan(1, "TariffUpdate", id: 7, updatedOn: Self.t1, fields: #","Name":"t""#)
        let product = Self.plan(2, "ProductDelete", id: 7, updatedOn: Self.t2)
        let stored = StoredVersions(rows: [product.rowKey: FoldVersion(updatedOn: Self.t1, isDelete: false, seq: 1)])
        let fold = BatchFold.decide([tariff, product], against: stored)
        #expect(tariff.rowKey != product.rowKey)
        #expect(fold.rows.count == 1)
        #expect(fold.rows[0].states.map(\.plan.entityType) == ["Tariff", "Product"])
        #expect(fold.rows[0].upserted.map(\.entityType) == ["Tariff"])
        #expect(fold.rows[0].deleted.map(\.entityType) == ["Product"])
        #expect(fold.tombstones.map(\.entityType) == ["Product"])
    }

    @Test func theNextBatchDecidedOverAnOverlayEqualsBothDecidedTogether() {
        let plans = Self.deliveries([13, 25, 1, 40, 38, 50, 14, 3, 26, 39, 51, 2])
        var replica = Replica()
        let first = Array(plans.prefix(5)), second = Array(plans.dropFirst(5))
        let decided = BatchFold.decide(first, against: replica.stored(for: first))
        var ahead = replica.stored(for: second)  // read before `first` is written
        ahead.overlay(decided)
        replica.write(decided)
        let after = replica.stored(for: second)
        let lookups = StoredVersions.lookups(of: second)
        #expect(lookups.rows.map { ahead.rows[$0.rowKey] } == lookups.rows.map { after.rows[$0.rowKey] })
        #expect(lookups.tombstones.map { ahead.tombstones[$0.tombstoneKey] }
            == lookups.tombstones.map { after.tombstones[$0.tombstoneKey] })
        #expect(BatchFold.decide(second, against: ahead).rows.flatMap(\.states).map(\.plan.version.seq)
            == BatchFold.decide(second, against: after).rows.flatMap(\.states).map(\.plan.version.seq))
    }
}

extension SQLValue {
    fileprivate var textValue: String? { if case .text(let text) = self { text } else { nil } }
}
