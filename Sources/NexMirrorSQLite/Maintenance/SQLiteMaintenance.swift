import Foundation
import GRDB
import NexMirrorStore

extension SQLiteReader: StoreMaintenance {
    /// SQLite's online backup, written beside `file` under a temporary name, checked, synced
    /// and renamed over it, so `file` is always the previous backup or the whole new one.
    /// Synchronous inside: the backup is one SQLite call on this thread.
    public func backup(to file: String) async throws -> BackupSummary { try copy(to: file) }

    private func copy(to file: String) throws -> BackupSummary {
        let target = URL(fileURLWithPath: file)
        if URL(fileURLWithPath: path).resolvingSymlinksInPath().path == target.resolvingSymlinksInPath().path {
            throw BackupError.copyIsTheDatabase
        }
        let directory = target.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.noDirectory(file: file, directory: directory)
        }
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        // Created private before SQLite opens it: the copy holds member data.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BackupError.cannotWrite(file: file, reason: Self.errnoText) }
        close(descriptor)

        let events: Int
        do {
            let copy = try DatabaseQueue(path: temporary)
            try queue.backup(to: copy)
            events = try copy.writeWithoutTransaction { db in
                // No -wal beside the copy: everything is in the one file that gets renamed.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else { throw BackupError.quickCheckFailed(check.first ?? "") }
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            }
            try copy.close()
            try Self.sync(temporary)
            guard rename(temporary, file) == 0 else { throw BackupError.cannotWrite(file: file, reason: Self.errnoText) }
            try Self.sync(directory)  // the rename itself survives a power loss
        } catch {
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) }
            if let error = error as? BackupError { throw error }
            throw BackupError.failed(database: path, file: file, reason: "\(error)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        return BackupSummary(events: events, bytes: bytes)
    }

    public func check(progress: ((RebuildProgress) -> Void)?) async throws -> CheckReport {
        do {
            return try ReplicaCheck(path: path).run(progress: progress)
        } catch let error as StoreError {
            throw error
        } catch {
            throw CheckError.failed(database: path, reason: "\(error)")
        }
    }

    private static var errnoText: String { String(cString: strerror(errno)) }

    private static func sync(_ path: String) throws(BackupError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotSync(path: path, reason: errnoText) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .cannotSync(path: path, reason: errnoText) }
    }
}
