import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorSQLite
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
            throw CLIError("unknown action '\(action)'; `nexmirror actions` lists them")
        }
        if files.isEmpty { throw CLIError("name at least one FILE to import") }
        // A mistyped name is a usage mistake: say so before anything is appended, not as a
        // "bad entry skipped" after the other files went in.
        for file in files where file != "-" {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw CLIError("cannot read \(file): no such file; nothing was imported")
            }
            guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: file) else {
                throw CLIError("cannot read \(file): \(isDirectory.boolValue ? "a directory" : "permission denied"); nothing was imported")
            }
        }
    }

    func run() async throws {
        // The store refuses a foreign or damaged file before writing anything to it.
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: database.path)
        } catch let error as StoreError {
            throw CLIError(error.description)
        }
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
                    let bytes = file == "-" ? Terminal.readAllStandardInput() : try Terminal.readFile(file)
                    try await ImportSource.array(bytes, action: arrayAction, report: report, deliver: deliver)
                } else {
                    try await ImportSource.lines(of: file, report: report, deliver: deliver)
                }
                let before = tally.appended
                tally.add(try await batch.flush())
                progress.appended(tally.appended - before)
            } catch let error as CLIError {
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
            throw CLIError("\(total.bad) bad \(total.bad == 1 ? "entry was" : "entries were") skipped (see above); the rest was imported")
        }
    }

    private func fold(_ store: SQLiteStore, progress: ImportProgress) async throws -> Int {
        do {
            try store.prepareProjections()
            let (last, checkpoint) = try await store.progress()
            let pending = Int(last - checkpoint)
            defer { progress.finish() }
            var folded = 0
            while true {
                let count = try await store.foldPending(limit: Self.batchSize)
                if count == 0 { return folded }
                folded += count
                progress.folding(done: folded, total: max(pending, folded))
            }
        } catch {
            throw CLIError("deliveries were imported but folding failed (`nexmirror rebuild` retries): \(error)")
        }
    }
}

/// What one file (or all of them) contributed.
struct ImportTally: CustomStringConvertible {
    var appended = 0
    var duplicates = 0
    var quarantined = 0
    var bad = 0

    mutating func add(_ outcomes: [(delivery: NewDelivery, result: AppendResult)]) {
        for (delivery, result) in outcomes {
            if result.duplicate {
                duplicates += 1
            } else {
                appended += 1
                if delivery.problem != nil { quarantined += 1 }
            }
        }
    }

    mutating func merge(_ other: ImportTally) {
        appended += other.appended
        duplicates += other.duplicates
        quarantined += other.quarantined
        bad += other.bad
    }

    var description: String {
        "\(appended) appended (\(quarantined) quarantined), \(duplicates) duplicate\(duplicates == 1 ? "" : "s"), "
            + "\(bad) skipped"
    }
}

/// Deliveries gathered into one durable commit per `size`.
struct DeliveryBatch {
    let store: SQLiteStore
    let size: Int
    private var pending: [NewDelivery] = []

    init(store: SQLiteStore, size: Int) {
        self.store = store
        self.size = size
    }

    mutating func add(_ delivery: NewDelivery) async throws -> [(delivery: NewDelivery, result: AppendResult)] {
        pending.append(delivery)
        return pending.count >= size ? try await flush() : []
    }

    mutating func flush() async throws -> [(delivery: NewDelivery, result: AppendResult)] {
        guard !pending.isEmpty else { return [] }
        let deliveries = pending
        pending = []
        do {
            return Array(zip(deliveries, try await store.append(deliveries)).map { ($0, $1) })
        } catch {
            throw ImportFailure(description: "cannot append to the event log: \(error)")
        }
    }
}

/// A failure of the store, not of the input: it stops the import.
struct ImportFailure: Error, CustomStringConvertible {
    let description: String
}

/// Turns import files into deliveries, keeping each body's exact bytes.
enum ImportSource {
    typealias Report = (String) -> Void

    /// JSON Lines `{"action": …, "body": …}`, read in chunks so a large file streams.
    /// `deliver` also gets how many bytes of the file have been read, for a progress bar.
    static func lines(
        of file: String, report: Report, deliver: (NewDelivery, Int) async throws -> Void
    ) async throws {
        let descriptor = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CLIError("cannot read: \(String(cString: strerror(errno)))") }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var reader = LineReader(descriptor: descriptor)
        var number = 0
        while let line = try reader.next() {
            number += 1
            guard line.contains(where: { !Self.isWhitespace($0) }) else { continue }
            switch delivery(fromLine: line) {
            case .success(let delivery): try await deliver(delivery, reader.consumed)
            case .failure(let problem): report("\(number): \(problem.description)")
            }
        }
    }

    static func delivery(fromLine line: [UInt8]) -> Result<NewDelivery, CLIError> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .failure(CLIError(error.description))
        }
        guard case .object(let members) = value, let ranges = JSONMembers.valueRanges(in: line) else {
            // A JSON array of DTOs is the other import form; it needs the action they were sent as.
            let hint = if case .array = value { " (for a JSON array of DTOs, pass --action A)" } else { "" }
            return .failure(CLIError("expected an object {\"action\": …, \"body\": …}, found a JSON \(value.typeName)\(hint)"))
        }
        let actionText: String
        switch members["action"] {
        case .string(let text): actionText = text
        case .number(let text): actionText = text
        case nil: return .failure(CLIError("missing \"action\""))
        case let other?: return .failure(CLIError("\"action\" must be a name or id, found a JSON \(other.typeName)"))
        }
        guard let action = ActionCatalog.action(named: actionText) else {
            return .failure(CLIError("unknown action '\(actionText)'"))
        }
        let body: [UInt8]
        switch members["body"] {
        case .string(let text):
            body = Array(text.utf8)
        case .array:
            body = Array(line[ranges["body"]!])
        case .object:
            body = [UInt8(ascii: "[")] + line[ranges["body"]!] + [UInt8(ascii: "]")]
        case nil:
            return .failure(CLIError("missing \"body\""))
        case let other?:
            return .failure(CLIError("\"body\" must be the body text, an array or a DTO object, found a JSON \(other.typeName)"))
        }
        return .success(NewDelivery(action: action, body: body, source: .import, signature: "imported"))
    }

    /// A JSON array of DTOs (or `{"Records": [...]}`), one delivery per element.
    static func array(
        _ bytes: [UInt8], action: WebhookAction, report: Report, deliver: (NewDelivery, Int) async throws -> Void
    ) async throws {
        var parsed: (value: JSONValue, elementRanges: [Range<Int>])
        do {
            parsed = try JSONParser.parseTopLevel(bytes)
        } catch {
            throw CLIError("\(lineNumber(at: error.offset, in: bytes)): \(error.description)")
        }
        var offset = 0
        if case .object(let members) = parsed.value, case .array? = members["Records"],
           let range = JSONMembers.valueRanges(in: bytes)?["Records"] {
            parsed = try! JSONParser.parseTopLevel(bytes[range])
            offset = range.lowerBound
        }
        guard case .array(let elements) = parsed.value else {
            throw CLIError("expected a JSON array of DTOs (or an object with \"Records\"), found a JSON \(parsed.value.typeName)")
        }
        for (index, element) in elements.enumerated() {
            let range = (parsed.elementRanges[index].lowerBound + offset)..<(parsed.elementRanges[index].upperBound + offset)
            guard case .object = element else {
                report("\(lineNumber(at: range.lowerBound, in: bytes)): element \(index + 1) is a JSON \(element.typeName), expected a DTO object")
                continue
            }
            let body = [UInt8(ascii: "[")] + bytes[range] + [UInt8(ascii: "]")]
            try await deliver(
                NewDelivery(action: action, body: body, source: .import, signature: "imported"), range.upperBound)
        }
    }

    static func lineNumber(at offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
}

/// Where each member's value of a top-level JSON object lies in its bytes, so a value can be
/// kept exactly as written. Expects a document that `JSONParser` already accepted.
enum JSONMembers {
    static func valueRanges(in bytes: some RandomAccessCollection<UInt8>) -> [String: Range<Int>]? {
        let bytes = Array(bytes)
        var index = 0
        func skipWhitespace() { while index < bytes.count, ImportSource.isWhitespace(bytes[index]) { index += 1 } }
        func skipString() {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            index += 1
        }
        func skipValue() {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                repeat {
                    switch bytes[index] {
                    case UInt8(ascii: "\""): skipString(); continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                    default: break
                    }
                    index += 1
                } while depth > 0 && index < bytes.count
            default:
                while index < bytes.count, !",}] \t\r\n".utf8.contains(bytes[index]) { index += 1 }
            }
        }

        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var ranges: [String: Range<Int>] = [:]
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return ranges }
            let keyStart = index
            skipString()
            guard case .string(let key)? = try? JSONParser.parse(bytes[keyStart..<index]) else { return nil }
            skipWhitespace()
            index += 1
            skipWhitespace()
            let valueStart = index
            skipValue()
            ranges[key] = valueStart..<index
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return ranges }
            index += 1
        }
    }
}

/// Lines of a file descriptor without their terminator, read 1 MiB at a time.
struct LineReader {
    let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false
    /// Bytes of the lines returned so far, terminators included.
    private(set) var consumed = 0

    init(descriptor: Int32) { self.descriptor = descriptor }

    mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<newline])
                consumed += newline + 1 - start
                start = newline + 1
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if finished {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                consumed += buffer.count - start
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIError("cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { finished = true } else { buffer.append(contentsOf: chunk[..<count]) }
        }
    }
}
