import NexMirrorStore

/// The check `sync` and `webhooks` make before opening a database for writing: a missing,
/// foreign or damaged file is refused with one line before anything is written to it.
enum ReadOnlyDatabase {
    @discardableResult
    static func open(_ options: DatabaseOptions) throws -> any ReplicaReader { try options.openReader() }
}
