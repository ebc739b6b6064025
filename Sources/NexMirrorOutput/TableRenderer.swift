import Foundation
import NexMirrorStore
/// The one grid renderer behind `table` and `markdown`: a header line, a rule, one line per row.
/// `aligned` pads each column to a width (numbers to the right) and cuts what is wider;
/// `markdown` writes GitHub-flavoured pipes, escaping `|` and turning line breaks into `<br>`.
struct TableRenderer {
    enum Style {
        /// Column widths in terminal columns, each at most `TableRenderer.maxWidth`.
        case aligned(widths: [Int])
        case markdown
    }

    static let maxWidth = 60

    let output: BufferedOutput
    let style: Style

    func header(_ columns: [String]) throws {
        try line(columns.map(Cell.text), header: true)
        switch style {
        case .aligned(let widths): output.write(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        case .markdown: output.write("|" + String(repeating: " --- |", count: columns.count))
        }
        output.write("\n")
    }

    func line(_ cells: [Cell], header: Bool = false) throws {
        switch style {
        case .aligned(let widths):
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let text = Self.cut(Self.flatten(cell.rendered ?? ""), to: Self.maxWidth)
                let padding = String(repeating: " ", count: max(0, widths[index] - Self.displayWidth(text)))
                parts.append(!header && cell.isNumber ? padding + text : text + padding)
            }
            var text = parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            output.write(text)
        case .markdown:
            output.write("|")
            for cell in cells {
                output.write(" ")
                output.write(Self.escape(cell.rendered ?? ""))
                output.write(" |")
            }
        }
        output.write("\n")
        try output.flushIfFull()
    }

    /// The width a value takes in an aligned column.
    static func width(of text: String) -> Int { min(maxWidth, displayWidth(flatten(text))) }

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

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: "<br>").replacingOccurrences(of: "\n", with: "<br>")
            .replacingOccurrences(of: "\r", with: "<br>")
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

/// The small fixed reports of `status` and `actions` as aligned lines: each column as wide as
/// its widest cell (nothing cut), two spaces between columns, no rule under the header.
public enum TextGrid {
    public static func lines(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max()! }
        return rows.map { row in
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned.contains(column) ? padding + row[column] : row[column] + padding
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
