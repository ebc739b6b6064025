/// What `backup` and `check` do to a store. Both only read it, so `serve` may keep ingesting.
public protocol StoreMaintenance: Sendable {
    /// Writes a consistent copy of the whole store (log and replica at one instant) to `file`,
    /// replacing it atomically and durably; the copy is private (mode 0600).
    func backup(to file: String) async throws -> BackupSummary

    /// Proves the store still holds what nexmirror wrote: integrity, bodies against their
    /// hashes, `seq` without holes, and the replica against a fresh fold of the log.
    func check(progress: ((RebuildProgress) -> Void)?) async throws -> CheckReport
}

/// What `backup` copied, for its summary line.
public struct BackupSummary: Sendable, Equatable {
    public let events: Int
    public let bytes: Int

    public init(events: Int, bytes: Int) {
        self.events = events
        self.bytes = bytes
    }
}

/// Why `backup` wrote no copy; each message says what to do.
public enum BackupError: Error, Equatable, CustomStringConvertible {
    case copyIsTheDatabase
    case noDirectory(file: String, directory: String)
    case cannotWrite(file: String, reason: String)
    case quickCheckFailed(String)
    case cannotSync(path: String, reason: String)
    case failed(database: String, file: String, reason: String)

    public var description: String {
        switch self {
        case .copyIsTheDatabase: "FILE is the database itself; name another file for the copy"
        case .noDirectory(let file, let directory): "cannot write \(file): directory \(directory) does not exist"
        case .cannotWrite(let file, let reason): "cannot write \(file): \(reason)"
        case .quickCheckFailed(let first):
            "the copy failed SQLite's quick_check (\(first)); the source may be damaged, run `nexmirror check`"
        case .cannotSync(let path, let reason): "cannot sync \(path): \(reason)"
        case .failed(let database, let file, let reason): "cannot back up \(database) to \(file): \(reason)"
        }
    }
}

/// Why `check` could not finish (findings are not errors: they are in the report).
public enum CheckError: Error, Equatable, CustomStringConvertible {
    case failed(database: String, reason: String)

    public var description: String {
        switch self {
        case .failed(let database, let reason): "cannot check \(database): \(reason)"
        }
    }
}
