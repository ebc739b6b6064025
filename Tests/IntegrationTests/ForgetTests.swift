import Foundation
import NexudusFixtures
import Testing

/// `nexmirror forget` on SQLite, through the real binary (SPEC §10): erased values are proved
/// gone with a byte search of the database file and its WAL, never with SQL.
@Suite struct ForgetTests {
    static let ren = String(NexudusFixtures.renId)
    static let renValues = NexudusFixtures.renValues
    static let joseValues = NexudusFixtures.joseValues

    static func importFile(in scratch: Scratch, _ names: [String]? = nil, rename: (String) -> String = { $0 }) throws -> String {
        let path = scratch.path("deliveries-\(UUID().uuidString).jsonl")
        try NexudusFixtures.importLines(names, rename: rename).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The values found in the database file, its WAL and its shared-memory file, as bytes.
    static func valuesFound(_ values: [String], in database: String) -> [String] {
        let files = [database, database + "-wal", database + "-shm"].compactMap { FileManager.default.contents(atPath: $0) }
        return values.filter { value in files.contains { $0.range(of: Data(value.utf8)) != nil } }
    }

    static func reports(_ database: String) async throws -> [String: String] {
        var outputs: [String: String] = [:]
        for report in ["revenue", "occupancy", "membership"] {
            let result = try await CLI.run(["export", report, "--db", database])
            #expect(result.status == 0, "\(report): \(result.stderr)")
            outputs[report] = result.output
        }
        return outputs
    }

    static func replica(_ database: String) async throws -> String {
        var dump = ""
        for table in ["coworkers", "bookings", "invoices", "invoice_events", "teams", "team_members", "checkins", "proposals", "contracts", "entities", "tombstones"] {
            let result = try await CLI.run(["query", "--db", database, "--format", "csv", "SELECT * FROM \(table) ORDER BY 1, 2"])
            #expect(result.status == 0, "\(table): \(result.stderr)")
            dump += "\(table)\n\(result.output)"
        }
        return dump
    }

    static func populated(_ scratch: Scratch) async throws -> String {
        let database = scratch.path("mirror.sqlite")
        let imported = try await CLI.run(["import", "--db", database, try importFile(in: scratch)])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(valuesFound(renValues, in: database) == renValues, "the values are there before")
        return database
    }

    @Test func forgetLeavesNoByteOfTheSubjectAndKeepsTheNumbers() async throws {
        let scratch = Scratch()
        let database = try await Self.populated(scratch)
        let before = try await Self.reports(database)

        let dryRun = try await CLI.run(["forget", "coworker", Self.ren, "--dry-run", "--db", database])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.output.contains("would rewrite 16 deliveries"), "\(dryRun.output)")
        #expect(Self.valuesFound(Self.renValues, in: database) == Self.renValues, "a dry run changes nothing")

        let forget = try await CLI.run(["forget", "coworker", Self.ren, "--reason", "request 114", "--db", database])
        #expect(forget.status == 0, "\(forget.stderr)")
        #expect(forget.output.contains("coworker 1419000582: rewrote 16 deliveries (Booking 2, Checkin 3, Coworker 2, CoworkerInvoice 4, Proposal 2, Team 3)"), "\(forget.output)")
        #expect(!forget.stderr.contains("Kowalski") && !forget.output.contains("Kowalski"))
        #expect(Self.valuesFound(Self.renValues, in: database) == [], "no byte of an erased value is left")
        #expect(Self.valuesFound(Self.joseValues, in: database) == Self.joseValues, "another member keeps its data")
        #expect(try await Self.reports(database) == before, "reports keep their numbers")

        let check = try await CLI.run(["check", "--db", database])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("erased (not a finding): 16 deliveries"), "\(check.output)")

        let replica = try await Self.replica(database)
        let rebuild = try await CLI.run(["rebuild", "--db", database])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(try await Self.replica(database) == replica, "rebuild reproduces the replica")
        #expect(Self.valuesFound(Self.renValues, in: database) == [])

        let ledger = try await CLI.run(["forget", "--ledger", "--format", "csv", "--db", database])
        #expect(ledger.output.hasPrefix("coworker_id,erased_at,reason,origin\r\n1419000582,"), "\(ledger.output)")
        #expect(ledger.output.contains(",request 114,forget"))
    }

    @Test func anErasedSubjectStaysErasedThroughRetriesLateUpdatesAndNewBookings() async throws {
        let scratch = Scratch()
        let database = try await Self.populated(scratch)
        let forget = try await CLI.run(["forget", "coworker", Self.ren, "--db", database])
        #expect(forget.status == 0, "\(forget.stderr)")
        let seqs = try await CLI.run(["query", "--db", database, "--format", "csv", "SELECT count(*), max(seq) FROM events"])

        // Nexudus retries every delivery it sent before: all duplicates, their old seq kept.
        let retry = try await CLI.run(["import", "--db", database, try Self.importFile(in: scratch)])
        #expect(retry.output.contains("0 appended (0 quarantined), 31 duplicates"), "\(retry.output)")
        #expect(try await CLI.run(["query", "--db", database, "--format", "csv", "SELECT count(*), max(seq) FROM events"]).output == seqs.output)

        // A late update of the member and a new booking naming it: new deliveries, stored erased.
        let late = try Self.importFile(in: scratch, ["CoworkerCreate", "BookingCreate"]) { body in
            body.replacingOccurrences(of: "2026-03-02T08:0", with: "2026-05-02T08:0")
                .replacingOccurrences(of: "1419005644", with: "1419005999")
        }
        let appended = try await CLI.run(["import", "--db", database, late])
        #expect(appended.output.contains("2 appended"), "\(appended.output)")
        #expect(Self.valuesFound(Self.renValues, in: database) == [], "\(appended.output)")
        let check = try await CLI.run(["check", "--db", database])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("erased (not a finding): 18 deliveries"), "\(check.output)")
        let row = try await CLI.run(["query", "--db", database, "--format", "csv", "SELECT full_name, email, active FROM coworkers WHERE id = 1419000582"])
        #expect(row.output == "full_name,email,active\r\n,,1\r\n", "the late version folds, erased")
    }

    @Test func aLedgerReplayedOnAnOlderBackupForgetsAgain() async throws {
        let scratch = Scratch()
        let database = try await Self.populated(scratch)
        let backup = scratch.path("before.sqlite")
        #expect(try await CLI.run(["backup", "--db", database, backup]).status == 0)
        #expect(try await CLI.run(["forget", "coworker", Self.ren, "--reason", "request 7", "--db", database]).status == 0)
        let ledger = try await CLI.run(["forget", "--ledger", "--format", "jsonl", "--db", database])
        let ledgerFile = scratch.path("ledger.jsonl")
        try ledger.stdout.write(to: URL(fileURLWithPath: ledgerFile))

        #expect(Self.valuesFound(Self.renValues, in: backup) == Self.renValues, "an older backup still holds the data")
        let replay = try await CLI.run(["forget", "--replay", ledgerFile, "--db", backup])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.output.contains("replayed 1 ledger entries"), "\(replay.output)")
        #expect(Self.valuesFound(Self.renValues, in: backup) == [])
        let restoredLedger = try await CLI.run(["forget", "--ledger", "--format", "csv", "--db", backup])
        #expect(restoredLedger.output.contains("1419000582,") && restoredLedger.output.contains(",request 7,replay"), "\(restoredLedger.output)")
        #expect(try await Self.replica(backup) == (try await Self.replica(database)))
    }

    /// The byte search can fail: an UPDATE without secure delete and a WAL checkpoint leaves the
    /// old text in the files, which is what `forget` must not do.
    @Test func theByteSearchCatchesANaiveUpdate() async throws {
        let scratch = Scratch()
        let database = try await Self.populated(scratch)
        let naive = try await CLI.run(
            ["sqlite3", database, "PRAGMA secure_delete = OFF; UPDATE coworkers SET full_name = NULL, email = NULL, data = '{}'; UPDATE events SET body = X'5B5D' WHERE entity_type = 'Coworker';"],
            executable: URL(fileURLWithPath: "/usr/bin/env"))
        #expect(naive.status == 0, "\(naive.stderr)")
        #expect(!Self.valuesFound(Self.renValues, in: database).isEmpty)
    }

    @Test func forgetRefusesWhatItCannotDo() async throws {
        let scratch = Scratch()
        let database = try await Self.populated(scratch)
        let unknownKind = try await CLI.run(["forget", "booking", "12", "--db", database])
        #expect(unknownKind.status != 0 && unknownKind.stderr.contains("only `coworker` can be forgotten"), "\(unknownKind.stderr)")
        let noId = try await CLI.run(["forget", "coworker", "--db", database])
        #expect(noId.status != 0 && noId.stderr.contains("at least one coworker id"), "\(noId.stderr)")
        let missing = try await CLI.run(["forget", "coworker", "7", "--db", scratch.path("absent.sqlite")])
        #expect(missing.status != 0 && missing.stderr.contains("no database at"), "\(missing.stderr)")
        let nobody = try await CLI.run(["forget", "coworker", "7", "--db", database])
        #expect(nobody.status == 0 && nobody.output.contains("coworker 7: no delivery holds its data"), "\(nobody.output)")
    }

    /// A database written by a released build gains the erasure tables by migration, and the
    /// first erasure in it rewrites the file once to reach bytes freed before secure delete.
    @Test func aDatabaseFromAnEarlierReleaseCanBeForgottenIn() async throws {
        let scratch = Scratch()
        let database = scratch.path("released.sqlite")
        try FileManager.default.copyItem(
            at: NexudusFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/upgrade/release-4622ef4.sqlite"),
            to: URL(fileURLWithPath: database))
        let imported = try await CLI.run(["import", "--db", database, try Self.importFile(in: scratch)])
        #expect(imported.status == 0, "\(imported.stderr)")
        let forget = try await CLI.run(["forget", "coworker", Self.ren, "--db", database])
        #expect(forget.status == 0, "\(forget.stderr)")
        #expect(Self.valuesFound(Self.renValues, in: database) == [])
        #expect(try await CLI.run(["check", "--db", database]).status == 0)
    }

    /// `serve --erase-deleted-after`: the server erases a coworker deleted in Nexudus by itself,
    /// while deliveries keep coming; `status` shows the erasure done.
    @Test func theServerErasesACoworkerDeletedInNexudus() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let secretFile = scratch.secretFile()
        let server = try await RunningServer(arguments: [
            "--db", database, "--secret-file", secretFile, "--erase-deleted-after", "1s", "--log-level", "trace",
        ])
        for name in NexudusFixtures.names where name != "CoworkerDelete" && name != "emoji-name" {
            #expect(try await HTTP.deliver(name, to: server).status == 200, "\(name)")
        }
        // A delivery quarantined for a personal value where a date belongs: logged without it.
        let odd = Array(#"[{"Id":1419000582,"UpdatedOn":"Ren Kowalski","FullName":"Ren Kowalski"}]"#.utf8)
        let signature = try await CLI.run(["sign", "--secret-file", secretFile], stdin: odd).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let quarantined = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerUpdate", body: odd, headers: [("X-Nexudus-Hook-Signature", signature)])
        #expect(quarantined.status == 200, "\(quarantined.body)")
        #expect(server.standardError.contains("delivery quarantined"), "\(server.standardError)")
        let status = try await CLI.run(["status", "--db", database])
        #expect(!status.output.contains("erasures:"), "nothing deleted, nothing erased: \(status.output)")
        #expect(Self.valuesFound(["Ren Kowalski", "+44 7700 934121"], in: database).count == 2)

        #expect(try await HTTP.deliver("CoworkerDelete", to: server).status == 200)
        let erased = await eventually(within: 120) {
            let ledger = try? await CLI.run(["forget", "--ledger", "--format", "csv", "--db", database])
            return ledger?.output.contains("1419000582,") == true && ledger?.output.contains(",deleted") == true
        }
        #expect(erased, "the server erased the deleted coworker")
        // A retry of a delivery sent before is a duplicate; the values stay gone.
        let retry = try await HTTP.deliver("BookingCreate", to: server)
        #expect(retry.status == 200 && retry.json["duplicate"] as? Bool == true, "\(retry.body)")
        #expect(Self.valuesFound(Self.renValues, in: database) == [])
        #expect(Self.valuesFound(Self.joseValues, in: database) == Self.joseValues)
        let after = try await CLI.run(["status", "--db", database])
        #expect(after.output.contains("erasures: 1 coworkers erased (17 deliveries rewritten), 0 deleted in Nexudus not erased yet"), "\(after.output)")
        #expect(!server.standardError.contains("Kowalski") && !server.standardError.contains("m1419000582"))
        #expect(await server.stop() == 0)
    }
}
