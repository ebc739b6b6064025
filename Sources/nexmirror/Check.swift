import ArgumentParser
import Foundation
import NexMirrorStore

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove that the database still holds what nexmirror wrote; exit 1 on any finding.",
        discussion: """
            Checks, in one consistent read (safe while `serve` runs; nothing is written):
              - SQLite's integrity check of the whole file;
              - every event's body against its body_sha256;
              - seq strictly increasing, without holes (but those `compact` recorded), never
                above the highest ever assigned;
              - the replica against a fresh fold of the log, built aside in temporary tables up
                to each projection's checkpoint: rows missing, extra and different, per table.
            Deliveries logged but not folded yet are lag: reported, not a finding.
            On PostgreSQL (--db postgresql://…) the same, in one REPEATABLE READ snapshot with
            the fresh fold in TEMP tables, without the file integrity check (PostgreSQL has
            none to run), plus each projection's checkpoint against the last seq.

            Prints one line per finding, then a summary. Exit status 0 when everything holds,
            1 when anything was found (or the database cannot be read). On a terminal, a
            progress bar on standard error. Costs about one `nexmirror rebuild`.

            Examples:
              nexmirror check
              nexmirror check --db /var/lib/nexmirror/nexmirror.sqlite || alert "mirror damaged"
            """)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let store = try await database.openMaintenance()  // one clear line for a missing or foreign file
        let started = Date()
        let bar = ProgressBar(enabled: Terminal.isTerminal(STDERR_FILENO))
        let report: CheckReport
        do {
            report = try await store.check { progress in
                bar.update(done: progress.eventsRead, total: progress.eventsTotal)
            }
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        for finding in report.findings { print(finding) }
        let lagging = report.lag.filter { $0.deliveries > 0 }
        if !lagging.isEmpty {
            print("lag (not a finding): " + lagging.map { "\($0.projection) \($0.deliveries)" }.joined(separator: ", ")
                + " deliveries not folded yet")
        }
        if report.erased > 0 {
            print("erased (not a finding): \(report.erased) deliveries hold erased personal data, each verified against its erasure record")
        }
        if report.compacted > 0 {
            print("compacted (not a finding): \(report.compacted) deliveries removed by `compact`")
        }
        let verdict = report.findings.isEmpty
            ? "no findings"
            : "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s")"
        print(String(
            format: "checked %d events and %d replica rows in %d tables in %.2f s: %@",
            report.events, report.rowsCompared, report.tablesCompared, Date().timeIntervalSince(started), verdict))
        if !report.findings.isEmpty { throw ExitCode(1) }
    }
}
