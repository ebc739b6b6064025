import NexMirrorStore
/// A GitHub-flavoured Markdown table; `|` is escaped and line breaks become `<br>`.
public struct MarkdownWriter: RowWriter {
    private let renderer: TableRenderer

    public init(output: BufferedOutput) { renderer = TableRenderer(output: output, style: .markdown) }

    public mutating func begin(columns: [String]) throws { try renderer.header(columns) }
    public mutating func write(_ row: [Cell]) throws { try renderer.line(row) }
    public mutating func end() throws { try renderer.output.flush() }
}
