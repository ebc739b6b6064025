import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append deliveries from files to the event log (backfill), then fold them.",
        discussion: """
            Without --action, each FILE is JSON Lines, one delivery per line:
              {"action": "CoworkerCreate", "body": "[{\\"Id\\":1419000582, …}]"}
              {"action": "BookingCreate", "body": [{"Id": 1419005644, …}]}
            "action" is a name (any case) or numeric id. "body" is a JSON string holding the exact \
            body text, or the body itself as JSON: an array is stored byte for byte as written in \
            the file, a bare DTO object is stored as [ + its bytes + ], as Nexudus would send it.

            With --action A, each FILE is a JSON array of DTOs (as saved from the Nexudus REST \
            API; an object with a "Records" array is accepted too). Each element becomes one \
            delivery of action A, its body the element's exact bytes inside [ and ].

            Deliveries are deduplicated like webhooks: the same action with byte-identical body is \
            already in the log and is not appended again, so importing a file twice is harmless. \
            Bodies that cannot be folded are kept, quarantined (see `nexmirror events \
            --quarantined`). A line that is not a delivery is reported as FILE:LINE with the \
            reason and skipped; the others are still imported, and the exit status is then 1. \
            The database is created if it does not exist. Use - as FILE for standard input.

            Examples:
              nexmirror import backfill.jsonl
              nexmirror import --action CoworkerCreate coworkers.json
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp(
        "Read each FILE as a JSON array of DTOs delivered as this action (name or id).", valueName: "action"))
    var action: String?

    @Argument(help: ArgumentHelp("JSON Lines files (or JSON arrays with --action); - for standard input.", valueName: "file"))
    var files: [String]

    static let batchSize = 500

    func validate() throws {
        if let action, ActionCatalog.action(named: action) == nil {
            throw ImportError.unknownActionOption(action)
        }
        if files.isEmpty { throw ImportError.noFiles }
        // A mistyped name is a usage mistake: say so before anything is appended, not as a
        // "bad entry skipped" after the other files went in.
        for file in files where file != "-" {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw ImportError.missingFile(file)
            }
            guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: file) else {
                throw ImportError.unreadableFile(file, isDirectory: isDirectory.boolValue)
            }
        }
    }

    func run() async throws {
        // The store refuses a foreign or damaged file before writing anything to it.
        let store = try await database.openStore()
        let arrayAction = action.flatMap { ActionCatalog.action(named: $0) }
        let progress = ImportProgress(files: files, enabled: Terminal.isTerminal(STDERR_FILENO))
        var total = ImportTally()
        for file in files {
            var tally = ImportTally()
            var batch = DeliveryBatch(store: store, size: Self.batchSize)
            let name = file == "-" ? "<stdin>" : file
            do {
                let report: (String) -> Void = { problem in
                    tally.bad += 1
                    progress.finish()
                    Terminal.printError("\(name):\(problem)")
                }
                let deliver: (NewDelivery, Int) async throws -> Void = { delivery, position in
                    let before = tally.appended
                    tally.add(try await batch.add(delivery))
                    progress.delivery(at: position, appendedNow: tally.appended - before)
                }
                if let arrayAction {
                    let bytes = file == "-" ? Terminal.readAllStandardInput() : try Self.read(file)
                    try await ImportSource.array(bytes, action: arrayAction, report: report, deliver: deliver)
                } else {
                    try await ImportSource.lines(of: file, report: report, deliver: deliver)
                }
                let before = tally.appended
                tally.add(try await batch.flush())
                progress.appended(tally.appended - before)
            } catch let error as ImportError {
                tally.add(try await batch.flush())
                tally.bad += 1
                progress.finish()
                Terminal.printError("\(name): \(error.description)")
            }
            progress.fileDone(file)
            progress.finish()
            print("\(name): \(tally)")
            total.merge(tally)
        }
        if files.count > 1 { print("total: \(total)") }
        let folded = try await fold(store, progress: progress)
        print("folded \(folded) \(folded == 1 ? "delivery" : "deliveries") into the replica")
        if total.bad > 0 {
            throw ImportError.skipped(total.bad)
        }
    }

    private func fold(_ store: any ReplicaStore, progress: ImportProgress) async throws -> Int {
        do {
            try await store.registerProjectionsAndRebuildChanged(progress: nil)
            let (last, checkpoint) = try await store.progress()
            let pending = Int(last - checkpoint)
            defer { progress.finish() }
            return try await store.foldUntilCaughtUp(limit: Self.batchSize) { folded in
                progress.folding(done: folded, total: max(pending, folded))
            }
        } catch {
            throw ImportError.foldFailed("\(error)")
        }
    }

    private static func read(_ file: String) throws(ImportError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else { throw .cannotReadFile(file) }
        return Array(data)
    }
}
