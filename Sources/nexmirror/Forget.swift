import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase people's personal data from the log, the replica and the files (GDPR Art. 17).",
        discussion: """
            Rewrites every delivery that holds the subject's personal data: its own Coworker \
            deliveries keep only ids, times, type, flags, tariff and location; bookings, invoices, \
            check-ins, contracts, proposals and teams that refer to it lose the fields that \
            describe it (names, e-mails, phones, billing details, notes), and any other string \
            equal to one of its values. Erased fields become null; ids, times and amounts stay, so \
            reports keep their numbers. The replica rows those deliveries decide are refolded, and \
            on SQLite no byte of an erased value is left in the database file or its WAL.

            The subject stays erased: later deliveries that name it (a Nexudus retry, a late \
            update, a booking, a sync fetch, an import) are stored already erased. Each rewrite is \
            recorded (original and new sha256, when, reason; no personal data), so `check` still \
            verifies every body. Safe while `serve` runs.

            Backups taken before an erasure still hold the data: after restoring one, re-apply \
            the ledger with --replay. See docs/data-protection.md.

            Examples:
              nexmirror forget coworker 1419000582 --reason "erasure request 2026-114"
              nexmirror forget coworker 1419000582 1419009389 --dry-run
              nexmirror forget --ledger --format csv > erasures.csv
              nexmirror forget --replay erasures.csv --db restored.sqlite
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp(
        "`coworker` followed by one or more Nexudus coworker ids.", valueName: "coworker id"))
    var subject: [String] = []

    @Option(help: "Why (an erasure request's reference); kept in the ledger. Never put personal data here.")
    var reason: String?

    @Flag(help: "Print what would be erased, change nothing.")
    var dryRun = false

    @Flag(help: "List the erased subjects (id, when, reason, origin; no personal data).")
    var ledger = false

    @Option(help: ArgumentHelp("Re-apply a ledger (CSV, TSV, JSON or JSONL from --ledger) to this database.", valueName: "file"))
    var replay: String?

    @Option(help: "With --ledger: table, csv, tsv, json, jsonl or markdown (default: table on a terminal, else csv).")
    var format: OutputFormat?

    func validate() throws {
        if ledger || replay != nil {
            guard subject.isEmpty else { throw ValidationError("--ledger and --replay take no coworker ids") }
            guard !(ledger && replay != nil) else { throw ValidationError("use --ledger or --replay, not both") }
            return
        }
        _ = try ids
    }

    private var ids: [Int64] {
        get throws {
            guard let kind = subject.first else {
                throw ValidationError("name who to forget: nexmirror forget coworker ID…  (or --ledger, --replay FILE)")
            }
            guard kind == "coworker" || kind == "coworkers" else {
                throw ValidationError("unknown subject kind '\(kind)': only `coworker` can be forgotten (members and contacts)")
            }
            let ids = try subject.dropFirst().map { text in
                guard let id = Int64(text), id > 0 else { throw ValidationError("'\(text)' is not a Nexudus coworker id") }
                return id
            }
            guard !ids.isEmpty else { throw ValidationError("name at least one coworker id after `coworker`") }
            return ids
        }
    }

    func run() async throws {
        let store = try await database.openErasingStore()
        if ledger {
            var writer = (format ?? .automatic).writer(to: BufferedOutput())
            try writer.begin(columns: ErasedSubject.columns)
            for entry in try await store.erasureLedger() { try writer.write(entry.values.map(Cell.init)) }
            try writer.end()
            return
        }
        if let replay {
            let entries = try ErasureLedgerFile.read(replay)
            var applied = 0
            for entry in entries {
                let reports = try await store.forget([entry.id], reason: entry.reason, origin: .replay, dryRun: false)
                applied += reports.filter { $0.deliveryCount > 0 || !$0.alreadyErased }.count
                for report in reports where report.deliveryCount > 0 { print(Self.describe(report, dryRun: false)) }
            }
            print("replayed \(entries.count) ledger entries: \(applied) subjects erased or re-erased, the rest were already erased")
            return
        }
        let reports = try await store.forget(try ids, reason: reason, origin: .forget, dryRun: dryRun)
        for report in reports { print(Self.describe(report, dryRun: dryRun)) }
        if dryRun { print("dry run: nothing was changed") }
    }

    static func describe(_ report: SubjectErasure, dryRun: Bool) -> String {
        func list(_ counts: [String: Int]) -> String {
            counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        var line = "coworker \(report.coworkerId): "
        if report.deliveryCount == 0 {
            line += report.alreadyErased ? "already erased, nothing left to rewrite" : "no delivery holds its data"
        } else {
            line += "\(dryRun ? "would rewrite" : "rewrote") \(report.deliveryCount) deliveries (\(list(report.deliveries)))"
            line += "; \(dryRun ? "would refold" : "refolded") \(report.rowCount) replica rows"
            if report.rowCount > 0 { line += " (\(list(report.rows)))" }
        }
        if report.stillLive {
            line += "\n  still in the replica (not deleted in Nexudus): deliveries that name it from now on are stored erased"
        }
        return line
    }
}

extension Cell {
    init(_ value: SQLValue) {
        switch value {
        case .null: self = .null
        case .integer(let integer): self = .integer(integer)
        case .real(let real): self = .real(real)
        case .text(let text): self = .text(text)
        }
    }
}

/// A ledger as `forget --ledger` writes it, read back for `--replay`.
enum ErasureLedgerFile {
    struct Entry {
        let id: Int64
        let reason: String?
    }

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Unreadable(description: "cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "[" || trimmed.first == "{" {
            let documents = trimmed.first == "[" ? [Substring(trimmed)] : text.split(whereSeparator: \.isNewline)
            var entries: [Entry] = []
            for document in documents where !document.allSatisfy(\.isWhitespace) {
                let value = try JSONParser.parse(Array(document.utf8))
                let objects: [JSONValue] = if case .array(let elements) = value { elements } else { [value] }
                for object in objects { entries.append(try entry(object, path)) }
            }
            return entries
        }
        let separator: Character = text.contains("\t") ? "\t" : ","
        var lines = text.split(whereSeparator: \.isNewline).map { fields(String($0), separator) }
        guard let header = lines.first, let idColumn = header.firstIndex(of: "coworker_id") else {
            throw Unreadable(description: "\(path): no coworker_id column; expected a file written by `nexmirror forget --ledger`")
        }
        let reasonColumn = header.firstIndex(of: "reason")
        lines.removeFirst()
        return try lines.map { fields in
            guard idColumn < fields.count, let id = Int64(fields[idColumn]) else {
                throw Unreadable(description: "\(path): a line has no coworker id")
            }
            let reason = reasonColumn.flatMap { $0 < fields.count && !fields[$0].isEmpty ? fields[$0] : nil }
            return Entry(id: id, reason: reason)
        }
    }

    private static func entry(_ object: JSONValue, _ path: String) throws -> Entry {
        guard case .number(let text)? = object["coworker_id"], let id = Int64(text) else {
            throw Unreadable(description: "\(path): an entry has no coworker_id")
        }
        if case .string(let reason)? = object["reason"] { return Entry(id: id, reason: reason) }
        return Entry(id: id, reason: nil)
    }

    /// One CSV (RFC 4180 quoting) or TSV line.
    private static func fields(_ line: String, _ separator: Character) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            if quoted {
                if character == "\"" {
                    quoted = false
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                if field.isEmpty { quoted = true } else { field.append(character) }
            } else if character == separator {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}
