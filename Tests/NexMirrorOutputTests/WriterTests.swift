import Foundation
import NexMirrorStore
import Testing
@testable import NexMirrorOutput

/// What a writer printed for `columns` and `rows`, through a real file descriptor.
func render(
    _ make: (BufferedOutput) -> any RowWriter, columns: [String], rows: [[Cell]]
) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)").path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    #expect(descriptor >= 0)
    defer { unlink(path) }
    var writer = make(BufferedOutput(descriptor: descriptor))
    try writer.begin(columns: columns)
    for row in rows { try writer.write(row) }
    try writer.end()
    close(descriptor)
    return try String(contentsOfFile: path, encoding: .utf8)
}

/// A row as a backend's cursor lends it: text as borrowed bytes.
struct LentRow: ResultRow {
    let cells: [Cell]
    let storage: [[UInt8]]

    init(_ cells: [Cell]) {
        self.cells = cells
        storage = cells.map { cell in if case .text(let text) = cell { Array(text.utf8) } else { [] } }
    }

    var columnCount: Int { cells.count }

    func raw(at column: Int) -> RawCell {
        switch cells[column] {
        case .null: .null
        case .integer(let integer): .integer(integer)
        case .text: storage[column].withUnsafeBufferPointer { .text($0) }
        case let other: .other(other)
        }
    }
}

/// The same rows through the raw path: the CSV and TSV writers copy lent column bytes.
func render(_ make: (BufferedOutput) -> any RowWriter, columns: [String], rawRows: [[Cell]]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)").path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    defer { unlink(path) }
    var writer = make(BufferedOutput(descriptor: descriptor))
    try writer.begin(columns: columns)
    for row in rawRows { try writer.write(raw: LentRow(row)) }
    try writer.end()
    close(descriptor)
    return try String(contentsOfFile: path, encoding: .utf8)
}

@Suite struct CSVTests {
    @Test func fieldsAreQuotedOnlyWhenTheyHoldACommaAQuoteOrALineBreak() throws {
        let text = try render(DelimitedWriter.csv, columns: ["a", "b,c"], rows: [
            [.text("plain"), .text("with, comma")],
            [.text(#"say "hi""#), .text("two\nlines")],
            [.null, .integer(-42)],
        ])
        #expect(text == "a,\"b,c\"\r\nplain,\"with, comma\"\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n,-42\r\n")
    }

    @Test func theRawPathQuotesLikeTheCellPath() throws {
        let columns = ["a", "b", "c", "d", "e", "f"]
        let row: [Cell] = [.text("x,y"), .null, .integer(-7), .real(1.5), .text(#"q"q"#), .text("\r")]
        let viaRaw = try render(DelimitedWriter.csv, columns: columns, rawRows: [row])
        let viaCells = try render(DelimitedWriter.csv, columns: columns, rows: [row])
        #expect(viaRaw == viaCells)
        #expect(viaRaw == "a,b,c,d,e,f\r\n\"x,y\",,-7,1.5,\"q\"\"q\",\"\r\"\r\n")
    }

    /// Quotes are doubled a run at a time: at the start, at the end, back to back, alone, in a
    /// value longer than the output's buffer, and in a JSON `data` value.
    @Test func everyQuoteIsDoubledWhereverItStands() throws {
        let long = String(repeating: #"ab""#, count: 50_000)
        let values = [#"""#, #""""#, #""x"#, #"x""#, #"a""b"#, #"{"k":"v","n":[1,"é"]}"#, long]
        let text = try render(DelimitedWriter.csv, columns: ["v"], rawRows: values.map { [.text($0)] })
        let expected = values.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"\r\n" }.joined()
        #expect(text == "v\r\n" + expected)
    }
}

@Suite struct TSVTests {
    @Test func tabsLineBreaksAndBackslashesAreEscapedSoEveryRowIsOneLine() throws {
        let text = try render(DelimitedWriter.tsv, columns: ["a", "b"], rows: [
            [.text("tab\there"), .text("back\\slash\r\n")],
            [.null, .decimal("12954.32")],
        ])
        #expect(text == "a\tb\ntab\\there\tback\\\\slash\\r\\n\n\t12954.32\n")
    }
}

@Suite struct JSONWriterTests {
    @Test func jsonIsOneArrayWithNumbersNullsAndEscapedStrings() throws {
        let text = try render({ JSONRowWriter(output: $0, lines: false) }, columns: ["id", "name", "paid", "note"], rows: [
            [.integer(1), .text("Zoë \"Z\"\n"), .decimal("10.50"), .null],
            [.integer(2), .text("\u{01}"), .real(.infinity), .blob(Data([0xFF]))],
        ])
        #expect(text == """
            [
            {"id":1,"name":"Zoë \\"Z\\"\\n","paid":10.50,"note":null},
            {"id":2,"name":"\\u0001","paid":null,"note":"\\\\xff"}
            ]

            """)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
    }

    @Test func anEmptyResultIsAnEmptyArray() throws {
        #expect(try render({ JSONRowWriter(output: $0, lines: false) }, columns: ["a"], rows: []) == "[]\n")
    }

    @Test func jsonlIsOneObjectPerLine() throws {
        let text = try render({ JSONRowWriter(output: $0, lines: true) }, columns: ["a", "b"], rows: [
            [.integer(1), .text("x")], [.null, .real(2.25)],
        ])
        #expect(text == "{\"a\":1,\"b\":\"x\"}\n{\"a\":null,\"b\":2.25}\n")
    }
}

@Suite struct MarkdownTests {
    @Test func pipesAreEscapedAndLineBreaksBecomeBR() throws {
        let text = try render(MarkdownWriter.init, columns: ["a", "b"], rows: [
            [.text("x|y"), .text("one\r\ntwo\nthree")],
            [.null, .integer(3)],
        ])
        #expect(text == "| a | b |\n| --- | --- |\n| x\\|y | one<br>two<br>three |\n|  | 3 |\n")
    }
}

@Suite struct TableTests {
    @Test func columnsAlignNumbersRightAndTrailingSpacesAreTrimmed() throws {
        let text = try render(TableWriter.init, columns: ["name", "n"], rows: [
            [.text("Ann"), .integer(7)],
            [.text("Bartholomew"), .integer(1234)],
            [.null, .null],
        ])
        #expect(text == """
            name         n
            -----------  ----
            Ann             7
            Bartholomew  1234


            """)
    }

    @Test func wideCharactersTakeTwoColumns() throws {
        let text = try render(TableWriter.init, columns: ["name", "city"], rows: [
            [.text("東京"), .text("x")],
            [.text("🙂a"), .text("y")],
            [.text("ab"), .text("z")],
        ])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "name  city")
        #expect(lines[1] == "----  ----")
        #expect(lines[2] == "東京  x")
        #expect(lines[3] == "🙂a   y")
        #expect(lines[4] == "ab    z")
    }

    @Test func longValuesAreCutAndControlCharactersShownEscaped() throws {
        let long = String(repeating: "字", count: 40)
        let text = try render(TableWriter.init, columns: ["v"], rows: [[.text(long)], [.text("a\tb")]])
        let lines = text.split(separator: "\n")
        #expect(TableRenderer.displayWidth(String(lines[2])) == TableRenderer.maxWidth - 1)
        #expect(lines[2].hasSuffix("…"))
        #expect(lines[3] == "a\\tb")
    }
}
