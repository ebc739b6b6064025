import ArgumentParser
import Foundation
import NexMirrorStore

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database to FILE consistently, also while `serve` runs.",
        discussion: """
            Uses SQLite's online backup: the copy is the database as it stood at one instant, \
            log and replica together, while `serve` keeps receiving. It is written beside FILE \
            under a temporary name, checked, synced and then renamed over FILE, so FILE is \
            always either the previous backup or the whole new one, never half of one. The copy \
            is a working nexmirror database (mode 0600: it holds member data): point --db at it \
            to query it, or put it back in place of a lost database.

            Examples:
              nexmirror backup /backups/nexmirror-$(date +%F).sqlite
              nexmirror check --db /backups/nexmirror-2026-03-01.sqlite
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("Where to write the copy; replaced atomically if it exists.", valueName: "file"))
    var file: String

    func run() async throws {
        let started = Date()
        let summary = try await database.openMaintenance().backup(to: file)
        print(String(
            format: "backed up %@ to %@: %d events, %.1f MiB in %.2f s",
            database.path, file, summary.events, Double(summary.bytes) / 1_048_576, Date().timeIntervalSince(started)))
    }
}
