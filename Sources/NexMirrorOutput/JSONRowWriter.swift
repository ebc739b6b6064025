import NexMirrorStore
import Foundation

/// `json`: one array, one object per line inside it; `jsonl`: one object per line. Integers and
/// reals are JSON numbers, NULL is `null`, keys follow the column order.
public struct JSONRowWriter: RowWriter {
    let output: BufferedOutput
    let lines: Bool
    private var columns: [String] = []
    private var rows = 0

    public init(output: BufferedOutput, lines: Bool) {
        self.output = output
        self.lines = lines
    }

    public mutating func begin(columns: [String]) throws {
        self.columns = columns.map(Self.string)
        if !lines { output.write("[") }
    }

    public mutating func write(_ row: [Cell]) throws {
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

    public mutating func end() throws {
        if !lines { output.write(rows == 0 ? "]\n" : "\n]\n") }
        try output.flush()
    }

    static func value(_ cell: Cell) -> String {
        switch cell {
        case .null: "null"
        case .real(let real) where !real.isFinite: "null"
        case .integer(let integer): String(integer)
        case .real(let real): real.description
        case .decimal(let decimal): decimal
        case .text(let text): string(text)
        case .blob: string(cell.rendered ?? "")
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
