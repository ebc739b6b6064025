import Testing
@testable import NexMirrorStore

/// `check`'s findings, the same lines on every backend, from the rows a backend read.
@Suite struct CheckFindingTests {
    @Test func seqHolesAndRenumberedSeqsAreFindings() {
        var report = CheckReport()
        let compacted = CompactedSeqs([5...6])
        for seq: Int64 in [2, 3, 4, 7, 9, 12, 20] { report.logged(seq: seq, highestAssigned: 12, compacted: compacted) }
        #expect(report.events == 7)
        #expect(report.findings.map(\.description) == [
            "events: seq 1 is missing: the log starts at 2",
            "events: seq 8 is missing: the log skips from 7 to 9",
            "events: seq 10…11 are missing: the log skips from 9 to 12",
            "events: seq 13…19 are missing: the log skips from 12 to 20",
            "events: seq 20 is above the highest seq ever assigned (12): it was renumbered",
        ])
    }

    @Test func aCheckpointPastTheLogIsAFinding() {
        var report = CheckReport()
        let checkpoints = report.checkpoints(
            [[.text("bookings"), .integer(12)], [.text("coworkers"), .integer(15)]], highestAssigned: 12)
        #expect(checkpoints == ["bookings": 12, "coworkers": 15])
        #expect(report.findings.map(\.description) == [
            "projections: coworkers's checkpoint 15 is above the last seq of the log (12)"
        ])
    }

    @Test func aTableIsComparedByItsPrimaryKey() {
        let comparison = ReplicaComparison(
            "tombstones", columns: [[.text("entity_type"), .integer(1)], [.text("seq"), .integer(0)], [.text("id"), .integer(2)]])
        #expect(comparison.key == ["entity_type", "id"])
        let statements = comparison.statements(live: "main.\"tombstones\"", fresh: "temp.\"tombstones\"")
        #expect(statements[0].sql == """
            SELECT "entity_type", "id" FROM (SELECT "entity_type", "id" FROM temp."tombstones" \
            EXCEPT SELECT "entity_type", "id" FROM main."tombstones") AS k ORDER BY "entity_type", "id"
            """)
        let missing: [[Cell]] = (1...6).map { [.text("Coworker"), .integer($0)] }
        var report = CheckReport()
        report.compared(comparison, [missing, [], [[.text("Booking"), .null]], [[.integer(40)]]], keysShown: 5)
        #expect(report.rowsCompared == 40)
        #expect(report.tablesCompared == 1)
        #expect(report.findings.map(\.description) == [
            "tombstones: 6 rows missing from the replica but in a fresh fold of the log (entity_type=Coworker id=1, "
                + "entity_type=Coworker id=2, entity_type=Coworker id=3, entity_type=Coworker id=4, entity_type=Coworker id=5, …)",
            "tombstones: 1 row different from a fresh fold of the log (entity_type=Booking id=NULL)",
        ])
        // A table without a primary key is compared by all its columns.
        #expect(ReplicaComparison("t", columns: [[.text("a"), .integer(0)], [.text("b"), .integer(0)]]).key == ["a", "b"])
    }
}
