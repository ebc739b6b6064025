import ArgumentParser
import Foundation
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorSQLite
import NexMirrorStore
import ServiceLifecycle

/// The one place that picks the store's backend from `--db`; every command past argument
/// parsing sees only the store protocols.
extension DatabaseOptions {
    var location: StoreLocation { StoreLocation(path) }

    /// The log and the replica for writing (and the sync ledger beside them, for `serve
    /// --sync-every`); a SQLite file is created unless `mustExist`.
    /// `lockTimeout` bounds how long a commit waits for a lock held elsewhere (SQLite's busy
    /// timeout, PostgreSQL's deadline), 5 s unless given.
    func openStore(
        mustExist: Bool = false, lockTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "nexmirror")
    ) async throws -> any ReplicaStore & SyncLedger & ErasingStore & StoreCompaction {
        switch location {
        case .sqlite(let path):
            if mustExist, !FileManager.default.fileExists(atPath: path) { throw StoreError.missingDatabase(path) }
            return try SQLiteStore(path: path, busyTimeout: lockTimeout.inSeconds)
        case .postgreSQL(let url):
            return try await PostgresStore(url: try Self.postgresURL(url), deadline: lockTimeout, logger: logger)
        }
    }

    /// `serve`'s store, with the services its backend needs beside the receiver: on PostgreSQL,
    /// the one that runs the connection pools.
    func openServedStore(
        lockTimeout: Duration, logger: Logger
    ) async throws -> (store: any ReplicaStore & SyncLedger & ErasingStore & StoreCompaction, services: [any Service]) {
        switch location {
        case .sqlite:
            return (try await openStore(lockTimeout: lockTimeout, logger: logger), [])
        case .postgreSQL(let url):
            let store = try await PostgresStore(url: try Self.postgresURL(url), deadline: lockTimeout, logger: logger)
            return (store, [PostgresPoolService(store: store)])
        }
    }

    /// The store `forget` erases in; it must exist.
    func openErasingStore() async throws -> any ErasingStore { try await openStore(mustExist: true) }

    /// The store for `backup` and `check`, which only read it.
    func openMaintenance() async throws -> any StoreMaintenance {
        switch location {
        case .sqlite(let path): return try SQLiteReader(path: path)
        case .postgreSQL(let url): return try await PostgresReader(url: try Self.postgresURL(url))
        }
    }

    /// The store `sync`, `webhooks` and `serve --sync-every` record in (the log, `sync_state`,
    /// `nexudus_webhooks`); a SQLite file is created. `preparing` registers the projections
    /// first, as sync folds what it appends.
    func openSyncLedger(preparing: Bool) async throws -> any SyncLedger {
        switch location {
        case .sqlite(let path):
            do {
                let store = try SQLiteStore(path: path)
                if preparing { try store.registerProjectionsAndRebuildChanged() }
                return store
            } catch {
                throw NexudusCommandError.cannotOpen(path: path, reason: "\(error)")
            }
        case .postgreSQL(let url):
            let store = try await PostgresStore(url: try Self.postgresURL(url), logger: Logger(label: "nexmirror"))
            if preparing { try await store.registerProjectionsAndRebuildChanged(progress: nil) }
            return store
        }
    }

    /// What `sync --dry-run` compares with, read-only and never created or migrated: nil when
    /// there is no SQLite file yet (a PostgreSQL database without tables holds nothing).
    func openHeldVersions() async throws -> (any HeldVersionReader)? {
        switch location {
        case .sqlite(let path):
            return FileManager.default.fileExists(atPath: path) ? try SQLiteReader(path: path) : nil
        case .postgreSQL(let url):
            return try await PostgresStore(url: try Self.postgresURL(url), logger: Logger(label: "nexmirror"), migrating: false)
        }
    }

    /// `url` parsed, naming this command in `pg_stat_activity` (`nexmirror check`…) unless the
    /// URL or `PGAPPNAME` names one: who holds a lock is then plain to a DBA and to `rebuild`.
    static func postgresURL(_ url: String) throws -> PostgresURL {
        try PostgresURL(url, fallbackApplicationName: applicationName)
    }

    /// `nexmirror` and the subcommand this process runs (the first argument naming one).
    static let applicationName: String = {
        let commands = Set(NexMirror.configuration.subcommands.map { $0._commandName })
        let command = CommandLine.arguments.dropFirst().first { commands.contains($0) }
        return ["nexmirror", command].compactMap { $0 }.joined(separator: " ")
    }()

    /// The reader for `query`, `events`, `export`, `status` and `history`, which also run on
    /// PostgreSQL; with `asOf` (`query` and `export`), the replica as it stood then.
    func openLogReader(asOf: Timestamp? = nil) async throws -> any ReplicaReader {
        switch location {
        case .sqlite(let path):
            return try asOf.map { try SQLiteReader(path: path, asOf: $0) } ?? SQLiteReader(path: path)
        case .postgreSQL(let url):
            return try await PostgresReader(url: try Self.postgresURL(url), asOf: asOf)
        }
    }
}
