import ArgumentParser
import Foundation
import GRDB
import NexMirrorSQLite
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

    func run() async throws { try copy() }

    /// Synchronous on purpose: the backup is one SQLite call, and GRDB's blocking API keeps
    /// the copy on this thread.
    private func copy() throws {
        let started = Date()
        let source = try ReadOnlyDatabase.open(database)
        let target = URL(fileURLWithPath: file)
        if URL(fileURLWithPath: database.path).resolvingSymlinksInPath().path == target.resolvingSymlinksInPath().path {
            throw CLIError("FILE is the database itself; name another file for the copy")
        }
        let directory = target.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("cannot write \(file): directory \(directory) does not exist")
        }
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        // Created private before SQLite opens it: the copy holds member data.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CLIError("cannot write \(file): \(String(cString: strerror(errno)))") }
        close(descriptor)

        let events: Int
        do {
            let copy = try DatabaseQueue(path: temporary)
            try source.backup(to: copy)
            events = try copy.writeWithoutTransaction { db in
                // No -wal beside the copy: everything is in the one file that gets renamed.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw CLIError("the copy failed SQLite's quick_check (\(check.first ?? "")); the source may be damaged, run `nexmirror check`")
                }
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            }
            try copy.close()
            try Self.sync(temporary)
            guard rename(temporary, file) == 0 else {
                throw CLIError("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            try Self.sync(directory)  // the rename itself survives a power loss
        } catch {
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) }
            if let error = error as? CLIError { throw error }
            throw CLIError("cannot back up \(database.path) to \(file): \(error)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print(String(
            format: "backed up %@ to %@: %d events, %.1f MiB in %.2f s",
            database.path, file, events, Double(bytes) / 1_048_576, Date().timeIntervalSince(started)))
    }

    private static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CLIError("cannot sync \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CLIError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
