import Foundation
import NexMirrorTestSupport
import Testing

/// `import` draws a progress bar on a terminal and prints only its summary when piped.
@Suite(.serialized) struct ImportProgressTests {
    /// 20,000 distinct coworker deliveries: long enough (about a second) for the bar to be drawn.
    private func backfill(_ scratch: Scratch) -> String {
        let path = scratch.path("backfill.jsonl")
        var text = ""
        for index in 0..<20_000 {
            text += #"{"action":"CoworkerCreate","body":[{"Id":\#(1_500_000 + index),"UpdatedOn":"2026-01-02T03:04:05Z","FullName":"Member \#(index)"}]}"# + "\n"
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func onATerminalImportShowsReadAppendedRateAndETA() async throws {
        let scratch = Scratch()
        let file = backfill(scratch)
        // script(1) gives the command a pseudo-terminal, as a user's shell would.
        let command = [CLI.binary.path, "import", "--db", scratch.path("mirror.sqlite"), file]
            .map { "'\($0)'" }.joined(separator: " ")
        let result = try await CLI.run(["-qec", command, "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(result.status == 0, "\(result.output)")
        let frames = result.output.split(separator: "\r").map(String.init)
        let drawn = frames.filter { $0.contains(" read, ") }
        #expect(!drawn.isEmpty, "no progress line in: \(result.output.prefix(500))")
        let line = try #require(drawn.last)
        #expect(line.range(of: #"\[[#-]{30}\] +\d+%  \d+ read, \d+ appended, [\d.]+k?/s, ETA \d+:\d\d"#, options: .regularExpression) != nil, "\(line)")
        #expect(result.output.contains("20000 appended (0 quarantined), 0 duplicates, 0 skipped"))
        #expect(result.output.contains("folded 20000 deliveries into the replica"))
    }

    @Test func pipedImportPrintsOnlyItsSummary() async throws {
        let scratch = Scratch()
        let file = backfill(scratch)
        let result = try await CLI.run(["import", "--db", scratch.path("mirror.sqlite"), file])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "\(result.stderr.prefix(300))")
        #expect(result.output == """
            \(file): 20000 appended (0 quarantined), 0 duplicates, 0 skipped
            folded 20000 deliveries into the replica

            """)
    }
}
