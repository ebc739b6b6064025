import NexMirrorStore
/// Aligned columns for reading at a terminal. Widths come from the first rows only, so a long
/// result streams with flat memory; a cell wider than 60 columns is cut with `…` (use csv or
/// json for full values). Numbers are right-aligned, NULL is blank.
public struct TableWriter: RowWriter {
    static let sampleRows = 1000

    private let output: BufferedOutput
    private var columns: [String] = []
    private var pending: [[Cell]] = []
    private var renderer: TableRenderer?

    public init(output: BufferedOutput) { self.output = output }

    public mutating func begin(columns: [String]) throws { self.columns = columns }

    public mutating func write(_ row: [Cell]) throws {
        if let renderer { return try renderer.line(row) }
        pending.append(row)
        if pending.count >= Self.sampleRows { try start() }
    }

    public mutating func end() throws {
        if renderer == nil { try start() }
        try output.flush()
    }

    private mutating func start() throws {
        var widths = columns.map(TableRenderer.width(of:))
        for row in pending {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], TableRenderer.width(of: cell.rendered ?? ""))
            }
        }
        let renderer = TableRenderer(output: output, style: .aligned(widths: widths))
        try renderer.header(columns)
        for row in pending { try renderer.line(row) }
        pending = []
        self.renderer = renderer
    }
}
