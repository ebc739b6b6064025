import NexMirrorStore
import Foundation

/// How `query`, `events` and `history` print rows.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, tsv, json, jsonl, markdown

    /// A table for a person at a terminal, CSV for a program reading a pipe or a file.
    public static var automatic: OutputFormat { isatty(STDOUT_FILENO) == 1 ? .table : .csv }

    public func writer(to output: BufferedOutput) -> any RowWriter {
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
