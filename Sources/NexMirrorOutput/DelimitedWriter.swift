import NexMirrorStore

/// CSV and TSV: a header row, then one line per row; NULL is an empty field.
public struct DelimitedWriter: RowWriter {
    public enum Dialect { case csv, tsv }

    public let output: BufferedOutput
    public let dialect: Dialect

    public init(output: BufferedOutput, dialect: Dialect) {
        self.output = output
        self.dialect = dialect
    }

    /// RFC 4180: CRLF line endings, fields quoted only when they hold a comma, a quote, CR or
    /// LF (quotes doubled).
    public static func csv(_ output: BufferedOutput) -> DelimitedWriter { DelimitedWriter(output: output, dialect: .csv) }

    /// LF line endings; a tab, newline, carriage return or backslash inside a value is escaped
    /// as `\t`, `\n`, `\r`, `\\` so every row stays one line.
    public static func tsv(_ output: BufferedOutput) -> DelimitedWriter { DelimitedWriter(output: output, dialect: .tsv) }

    private var separator: UInt8 { dialect == .csv ? UInt8(ascii: ",") : 0x09 }

    public mutating func begin(columns: [String]) throws { try line(columns.map(Cell.text)) }
    public mutating func write(_ row: [Cell]) throws { try line(row) }
    public mutating func end() throws { try output.flush() }

    /// Copies the store's column text straight into the output: a `Cell` and a `String` per
    /// value cost more than the query itself on long exports.
    public mutating func write(raw row: some ResultRow) throws {
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
        let quote = UInt8(ascii: "\"")
        var needsQuotes = false
        for byte in text where byte == UInt8(ascii: ",") || byte == quote || byte == 0x0D || byte == 0x0A {
            needsQuotes = true
            break
        }
        guard needsQuotes else { return output.write(bytes: text) }
        output.write(byte: quote)
        // Copied a run at a time up to each quote, which is then doubled: a JSON `data` value
        // is mostly quotes and the runs between them, and a write per byte cost a fifth of a long
        // `query` in `perf`.
        var start = text.startIndex
        while let found = text[start...].firstIndex(of: quote) {
            output.write(bytes: UnsafeBufferPointer(rebasing: text[start...found]))
            output.write(byte: quote)
            start = found + 1
        }
        output.write(bytes: UnsafeBufferPointer(rebasing: text[start...]))
        output.write(byte: quote)
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
