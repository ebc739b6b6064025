import Foundation
import NexMirrorCore
import NexMirrorStore
import Testing

/// The statements written once for both backends: each placeholder has its value, in the
/// backend's own numbering.
@Suite struct WriteStatementsTests {
    /// The highest placeholder number a statement uses.
    private func highestParameter(_ statement: SQLStatement) -> Int {
        var highest = 0
        for marker in ["?", "$"] {
            for piece in statement.sql.components(separatedBy: marker).dropFirst() {
                highest = max(highest, Int(piece.prefix { $0.isNumber }) ?? 0)
            }
        }
        return highest
    }

    private let time = Timestamp(parsing: "2026-03-01T09:00:00Z")!

    private func header(_ seq: Int64, bytes: Int = 10) -> LoggedDeliveryHeader {
        LoggedDeliveryHeader(
            seq: seq, action: "coworkerUpdate", entityType: "Coworker", entityId: 1, quarantined: false, old: true, bodyBytes: bytes)
    }

    @Test func aCompactionBatchDeletesItsSeqsAndRecordsTheirRuns() {
        let batch = [1, 2, 3, 7, 9, 10].map { header($0) }
        let statements = CompactionStatements.remove(batch, compaction: 42, at: time, .postgreSQL)
        #expect(statements.map(\.sql) == [
            "DELETE FROM events WHERE seq IN ($1, $2, $3, $4, $5, $6)",
            "INSERT INTO compacted_seqs (first_seq, last_seq, compaction) VALUES ($2, $3, $1), ($4, $5, $1), ($6, $7, $1)",
            "UPDATE compactions SET removed = removed + $1, body_bytes = body_bytes + $2, compacted_at = $3 WHERE id = $4",
        ])
        #expect(statements[0].arguments == [1, 2, 3, 7, 9, 10].map(Cell.integer))
        #expect(statements[1].arguments == [42, 1, 3, 7, 7, 9, 10].map(Cell.integer))
        #expect(statements[2].arguments == [.integer(6), .integer(60), .text(time.description), .integer(42)])
    }

    @Test func aLargeCompactionBatchStaysWithinSQLitesParameterLimit() {
        // Every other seq: as many runs as deliveries, the worst case for `compacted_seqs`.
        let batch = (0..<1200).map { header(Int64($0) * 2) }
        let statements = CompactionStatements.remove(batch, compaction: 1, at: time, .sqlite)
        for statement in statements {
            #expect(statement.arguments.count <= 999)
            #expect(highestParameter(statement) == statement.arguments.count)
        }
        let deleted = statements.filter { $0.sql.hasPrefix("DELETE") }.flatMap(\.arguments)
        #expect(deleted == batch.map { .integer($0.seq) })
        let recorded = statements.filter { $0.sql.hasPrefix("INSERT") }.map { $0.arguments.count / 2 }.reduce(0, +)
        #expect(recorded == 1200)
    }

    @Test func aCompactionReadsItsRunsIdBack() {
        let begin = CompactionStatements.begin(before: time, kinds: "{}", at: time, .sqlite)
        #expect(begin.last?.sql == "SELECT last_insert_rowid()")
        #expect(CompactionStatements.begin(before: time, kinds: "{}", at: time, .postgreSQL).last?.sql == "SELECT lastval()")
        #expect(CompactionStatements.id([[], [[.integer(7)]]]) == 7)
        #expect(CompactionStatements.id([[], []]) == nil)
    }

    @Test func theSyncLedgersStatementsBindEveryPlaceholder() {
        let figures = SyncFigures(kind: "coworkers", listed: 3, fetched: 2, new: 1, changed: 1, deleted: 0, unchanged: 1)
        let webhook = WebhookRecord(
            id: 5, businessId: nil, action: "coworkerCreate", url: "https://x", active: true, errorCount: nil, lastError: nil,
            lastTrigger: nil)
        let mode = FetchMode(form: .single, note: "refused", checkedAt: time)
        for dialect in [SQLDialect.sqlite, .postgreSQL] {
            let statements = SyncLedgerStatements.started(kind: "coworkers", at: time, dialect)
                + SyncLedgerStatements.finished(figures, at: time, dialect)
                + SyncLedgerStatements.failed(kind: "coworkers", error: "boom", at: time, dialect)
                + SyncLedgerStatements.fetchMode(mode, kind: "coworkers", dialect)
                + SyncLedgerStatements.replaceWebhooks([webhook], seenAt: time, dialect)
            for statement in statements {
                #expect(highestParameter(statement) == statement.arguments.count, "\(statement.sql)")
            }
        }
        let finished = SyncLedgerStatements.finished(figures, at: time, .sqlite)[0]
        #expect(finished.arguments == [.text(time.description)] + [3, 2, 1, 1, 0, 1].map(Cell.integer) + [.text("coworkers")])
        let replaced = SyncLedgerStatements.replaceWebhooks([webhook], seenAt: time, .sqlite)
        #expect(replaced.first?.sql == "DELETE FROM nexudus_webhooks")
        #expect(replaced.last?.arguments[4] == .integer(1))
    }

    @Test func aCountBeyondAnIntegerColumnIsStoredAsItsLimit() {
        let figures = SyncFigures(kind: "k", listed: Int(Int32.max) + 5, fetched: 0, new: 0, changed: 0, deleted: 0, unchanged: 0)
        #expect(SyncLedgerStatements.finished(figures, at: time, .postgreSQL)[0].arguments[1] == .integer(Int64(Int32.max)))
    }

    @Test func heldVersionsAndFetchModesReadTheSameFromEitherBackendsCells() throws {
        let statements = try HeldVersions.statements(HeldKind(table: "entities", entityType: "Tariff"), .postgreSQL)
        #expect(statements.map(\.arguments) == [[.text("Tariff")], [.text("Tariff")]])
        #expect(throws: StoreError.self) { try HeldVersions.statements(HeldKind(table: "events", entityType: "X"), .sqlite) }
        let held = HeldVersions([[[.integer(1), .text("2026")], [.integer(2), .null]], [[.integer(3), .null]]])
        let rows: [Int64: String?] = [1: "2026", 2: nil]
        let tombstones: [Int64: String?] = [3: nil]
        #expect(held == HeldVersions(rows: rows, tombstones: tombstones))
        #expect(held.rows.count == 2)
        let modes = FetchMode.byKind([
            [.text("coworkers"), .text("single"), .text("refused"), .text(time.description)],
            [.text("bookings"), .null, .null, .null],
            [.text("teams"), .text("sideways"), .null, .text(time.description)],
        ])
        #expect(modes == ["coworkers": FetchMode(form: .single, note: "refused", checkedAt: time)])
    }

    @Test func anErasureSearchesEveryNeedleAndReadsCandidatesFromBlobsOrText() {
        let search = ErasureStatements.seqs(naming: ErasureSubjects(ids: [42]), after: 0, upTo: 9, .postgreSQL)
        #expect(search.sql == "SELECT seq FROM events WHERE seq > $1 AND seq <= $2 AND (position($3 IN body) > 0)")
        #expect(search.arguments == [.integer(0), .integer(9), .blob(Data("42".utf8))])
        let sqlite = ErasureStatements.seqs(naming: ErasureSubjects(ids: [42]), after: 0, upTo: 9, .sqlite)
        #expect(sqlite.sql.hasSuffix("(instr(body, ?3) > 0)"))
        let row: [Cell] = [.integer(7), .text("coworkerUpdate"), .null, .blob(Data("{}".utf8)), .text("ok"), .null, .text("sig")]
        let candidate = ErasureStatements.candidate(row)
        #expect(candidate?.seq == 7)
        #expect(candidate?.body == Array("{}".utf8))
        #expect(candidate?.kind == "coworkerUpdate")
        #expect(candidate?.signature == "sig")
        var asText = row
        asText[3] = .text("{}")
        #expect(ErasureStatements.candidate(asText)?.body == Array("{}".utf8))
        let chunks = ErasureStatements.deliveries(Array(1...1001), .sqlite)
        #expect(chunks.map(\.arguments.count) == [500, 500, 1])
        #expect(chunks[2].sql.contains("seq IN (?1)"))
    }
}
