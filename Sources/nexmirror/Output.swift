import ArgumentParser
import Foundation
import NexMirrorStore

/// How `query` and `events` print rows.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table, csv, tsv, json, jsonl, markdown

    /// A table for a person at a terminal, CSV for a program reading a pipe or a file.
    static var automatic: OutputFormat { Terminal.isTerminal(STDOUT_FILENO) ? .table : .csv }

    func writer(to output: BufferedOutput) -> any RowWriter {
        switch self {
        case .table: TableWriter(output: output)
        case .csv: DelimitedWriter.csv(output)
        case .tsv: DelimitedWriter.tsv(output)
        case .json: JSONRowWriter(output: output, lines: false)
        case .jsonl: JSONRowWriter(output: output, lines: true)
        case .markdown: MarkdownWriter(output: output)
        }
    }
}

/// CSV and TSV: a header row, then one line per row; NULL is an empty field.
struct DelimitedWriter: RowWriter {
    enum Dialect { case csv, tsv }

    let output: BufferedOutput
    let dialect: Dialect

    /// RFC 4180: CRLF line endings, fields quoted only when they hold a comma, a quote, CR or
    /// LF (quotes doubled).
    static func csv(_ output: BufferedOutput) -> DelimitedWriter { DelimitedWriter(output: output, dialect: .csv) }

    /// LF line endings; a tab, newline, carriage return or backslash inside a value is escaped
    /// as `\t`, `\n`, `\r`, `\\` so every row stays one line.
    static func tsv(_ output: BufferedOutput) -> DelimitedWriter { DelimitedWriter(output: output, dialect: .tsv) }

    private var separator: UInt8 { dialect == .csv ? UInt8(ascii: ",") : 0x09 }

    mutating func begin(columns: [String]) throws { try line(columns.map(Cell.text)) }
    mutating func write(_ row: [Cell]) throws { try line(row) }
    mutating func end() throws { try output.flush() }

    /// Copies the store's column text straight into the output: a `Cell` and a `String` per
    /// value cost more than the query itself on long exports.
    mutating func write(raw row: some ResultRow) throws {
        for column in 0..<row.columnCount {
            if column > 0 { output.write(byte: separator) }
            switch row.raw(at: column) {
            case .null:
                break
            case .integer(let integer):
                output.write(integer: integer)
            case .text(let text):
                field(text)
            case .other(let cell):
                var text = cell.rendered ?? ""
                text.withUTF8 { field($0) }
            }
        }
        endLine()
        try output.flushIfFull()
    }

    private func line(_ cells: [Cell]) throws {
        for (index, cell) in cells.enumerated() {
            if index > 0 { output.write(byte: separator) }
            if var text = cell.rendered { text.withUTF8 { field($0) } }
        }
        endLine()
        try output.flushIfFull()
    }

    private func endLine() {
        if dialect == .csv { output.write(byte: 0x0D) }
        output.write(byte: 0x0A)
    }

    private func field(_ text: UnsafeBufferPointer<UInt8>) {
        switch dialect {
        case .csv: Self.csvField(text, to: output)
        case .tsv: Self.tsvField(text, to: output)
        }
    }

    static func csvField(_ text: UnsafeBufferPointer<UInt8>, to output: BufferedOutput) {
        var needsQuotes = false
        for byte in text where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0D || byte == 0x0A {
            needsQuotes = true
            break
        }
        guard needsQuotes else { return output.write(bytes: text) }
        output.write(byte: UInt8(ascii: "\""))
        for byte in text {
            if byte == UInt8(ascii: "\"") { output.write(byte: byte) }
            output.write(byte: byte)
        }
        output.write(byte: UInt8(ascii: "\""))
    }

    static func tsvField(_ text: UnsafeBufferPointer<UInt8>, to output: BufferedOutput) {
        for byte in text {
            switch byte {
            case 0x09: output.write(byte: 0x5C); output.write(byte: UInt8(ascii: "t"))
            case 0x0A: output.write(byte: 0x5C); output.write(byte: UInt8(ascii: "n"))
            case 0x0D: output.write(byte: 0x5C); output.write(byte: UInt8(ascii: "r"))
            case 0x5C: output.write(byte: 0x5C); output.write(byte: 0x5C)
            default: output.write(byte: byte)
            }
        }
    }
}

/// `json`: one array, one object per line inside it; `jsonl`: one object per line. Integers and
/// reals are JSON numbers, NULL is `null`, keys follow the column order.
struct JSONRowWriter: RowWriter {
    let output: BufferedOutput
    let lines: Bool
    private var columns: [String] = []
    private var rows = 0

    init(output: BufferedOutput, lines: Bool) {
        self.output = output
        self.lines = lines
    }

    mutating func begin(columns: [String]) throws {
        self.columns = columns.map(Self.string)
        if !lines { output.write("[") }
    }

    mutating func write(_ row: [Cell]) throws {
        if !lines { output.write(rows == 0 ? "\n" : ",\n") }
        output.write("{")
        for (index, cell) in row.enumerated() {
            if index > 0 { output.write(",") }
            output.write(columns[index])
            output.write(":")
            output.write(Self.value(cell))
        }
        output.write(lines ? "}\n" : "}")
        rows += 1
        try output.flushIfFull()
    }

    mutating func end() throws {
        if !lines { output.write(rows == 0 ? "]\n" : "\n]\n") }
        try output.flush()
    }

    static func value(_ cell: Cell) -> String {
        switch cell {
        case .null: "null"
        case .real(let real) where !real.isFinite: "null"
        case .integer, .real, .decimal: cell.rendered!
        case .text, .blob: string(cell.rendered!)
        }
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A GitHub-flavoured Markdown table; `|` is escaped and line breaks become `<br>`.
struct MarkdownWriter: RowWriter {
    let output: BufferedOutput

    mutating func begin(columns: [String]) throws {
        try line(columns.map(Cell.text))
        output.write("|" + String(repeating: " --- |", count: columns.count) + "\n")
    }

    mutating func write(_ row: [Cell]) throws { try line(row) }
    mutating func end() throws { try output.flush() }

    private func line(_ cells: [Cell]) throws {
        output.write("|")
        for cell in cells {
            output.write(" ")
            output.write(Self.escape(cell.rendered ?? ""))
            output.write(" |")
        }
        output.write("\n")
        try output.flushIfFull()
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: "<br>").replacingOccurrences(of: "\n", with: "<br>")
            .replacingOccurrences(of: "\r", with: "<br>")
    }
}

/// Aligned columns for reading at a terminal. Widths come from the first rows only, so a long
/// result streams with flat memory; a cell wider than `maxWidth` is cut with `…` (use csv or
/// json for full values). Numbers are right-aligned, NULL is blank.
struct TableWriter: RowWriter {
    let output: BufferedOutput
    static let sampleRows = 1000
    static let maxWidth = 60

    private var columns: [String] = []
    private var pending: [[Cell]] = []
    private var widths: [Int]?

    init(output: BufferedOutput) { self.output = output }

    mutating func begin(columns: [String]) throws { self.columns = columns }

    mutating func write(_ row: [Cell]) throws {
        if widths != nil { return try line(row) }
        pending.append(row)
        if pending.count >= Self.sampleRows { try start() }
    }

    mutating func end() throws {
        if widths == nil { try start() }
        try output.flush()
    }

    private mutating func start() throws {
        var widths = columns.map { min(Self.maxWidth, Self.displayWidth(Self.flatten($0))) }
        for row in pending {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], min(Self.maxWidth, Self.displayWidth(Self.flatten(cell.rendered ?? ""))))
            }
        }
        self.widths = widths
        try line(columns.map(Cell.text), header: true)
        output.write(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        output.write("\n")
        for row in pending { try line(row) }
        pending = []
    }

    private func line(_ cells: [Cell], header: Bool = false) throws {
        guard let widths else { return }
        var parts: [String] = []
        for (index, cell) in cells.enumerated() {
            let text = Self.cut(Self.flatten(cell.rendered ?? ""), to: Self.maxWidth)
            let padding = String(repeating: " ", count: max(0, widths[index] - Self.displayWidth(text)))
            parts.append(!header && cell.isNumber ? padding + text : text + padding)
        }
        var text = parts.joined(separator: "  ")
        while text.last == " " { text.removeLast() }
        output.write(text)
        output.write("\n")
        try output.flushIfFull()
    }

    /// Control characters would break the grid; they are shown escaped.
    static func flatten(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 }) else { return text }
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\t", with: "\\t")
    }

    static func cut(_ text: String, to width: Int) -> String {
        guard text.utf8.count > width, displayWidth(text) > width else { return text }
        var out = ""
        var used = 0
        for character in text {
            let next = displayWidth(character)
            if used + next > width - 1 { break }
            out.append(character)
            used += next
        }
        return out + "…"
    }

    static func displayWidth(_ text: String) -> Int {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.count }
        return text.reduce(0) { $0 + displayWidth($1) }
    }

    /// Terminal columns of a character: 2 for emoji and East Asian wide characters.
    static func displayWidth(_ character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        if scalar.properties.isEmojiPresentation { return 2 }
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}

/// Bytes for standard output or a file, written in 64 KiB chunks.
final class BufferedOutput {
    private let descriptor: Int32
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity = 2 * BufferedOutput.chunk
    private var count = 0
    private static let chunk = 64 * 1024

    init(descriptor: Int32 = STDOUT_FILENO) {
        self.descriptor = descriptor
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { write(bytes: $0) }
    }

    func write(bytes: some Sequence<UInt8>) {
        for byte in bytes { write(byte: byte) }
    }

    func write(bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if count + bytes.count > capacity { grow(to: count + bytes.count) }
        (storage + count).update(from: base, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) func write(byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        storage[count] = byte
        count += 1
    }

    /// Only a single value longer than the buffer (a large delivery body) gets here; writes
    /// never flush by themselves so that write errors surface in `flush`.
    private func grow(to needed: Int) {
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: max(needed, 2 * capacity))
        larger.update(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity = max(needed, 2 * capacity)
    }

    /// Decimal digits without an intermediate `String`.
    func write(integer: Int64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 20 digits and a sign fit
        withUnsafeMutableBytes(of: &digits) { scratch in
            var magnitude = integer.magnitude
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if integer < 0 {
                index -= 1
                scratch[index] = UInt8(ascii: "-")
            }
            write(bytes: UnsafeBufferPointer(rebasing: scratch.bindMemory(to: UInt8.self)[index...]))
        }
    }

    func flushIfFull() throws {
        if count >= Self.chunk { try flush() }
    }

    /// Write errors surface here; bytes buffered after a failed flush are dropped with it.
    func flush() throws {
        defer { count = 0 }
        try writeAll(UnsafeRawBufferPointer(start: storage, count: count))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw CLIError("cannot write output: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

/// A file that appears complete or not at all: written beside its destination under a temporary
/// name, synced, then renamed over it.
struct AtomicFile {
    let path: String
    let temporaryPath: String
    let descriptor: Int32

    init(replacing path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("cannot write \(path): directory \(directory) does not exist")
        }
        self.path = path
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    func commit() throws {
        defer { close(descriptor) }
        guard fsync(descriptor) == 0, rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw CLIError("cannot write \(path): \(reason)")
        }
    }

    func discard() {
        close(descriptor)
        unlink(temporaryPath)
    }
}
