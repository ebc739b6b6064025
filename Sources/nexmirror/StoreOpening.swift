import ArgumentParser
import Foundation
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorSQLite
import NexMirrorStore

/// The one place that picks the store's backend from `--db`; every command past argument
/// parsing sees only the store protocols.
extension DatabaseOptions {
    var location: StoreLocation { postgresURL.map { .postgreSQL(url: $0) } ?? StoreLocation(path) }

    /// The log and the replica for writing; a SQLite file is created unless `mustExist`.
    func openStore(mustExist: Bool = false) async throws -> any ReplicaStore {
        switch location {
        case .sqlite(let path):
            if mustExist, !FileManager.default.fileExists(atPath: path) { throw StoreError.missingDatabase(path) }
            return try SQLiteStore(path: path)
        case .postgreSQL(let url):
            do {
                return try await PostgresStore(url: try Self.postgresURL(url), logger: Logger(label: "nexmirror"))
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
        }
    }

    /// The store `forget` erases in; it must exist.
    func openErasingStore() async throws -> any ErasingStore {
        switch location {
        case .sqlite(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.missingDatabase(path) }
            return try SQLiteStore(path: path)
        case .postgreSQL:
            guard let store = try await openStore(mustExist: true) as? any ErasingStore else {
                throw StoreError.unsupportedBackend("forget is not available on this backend")
            }
            return store
        }
    }

    /// The store for `backup` and `check`, which only read it.
    func openMaintenance() async throws -> any StoreMaintenance {
        switch location {
        case .sqlite(let path): return try SQLiteReader(path: path)
        case .postgreSQL(let url):
            do {
                return try await PostgresReader(url: try Self.postgresURL(url))
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
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
                if preparing { try store.prepareProjections() }
                return store
            } catch {
                throw NexudusCommandError.cannotOpen(path: path, reason: "\(error)")
            }
        case .postgreSQL(let url):
            do {
                let store = try await PostgresStore(url: try Self.postgresURL(url), logger: Logger(label: "nexmirror"))
                if preparing { try await store.prepareProjections(progress: nil) }
                return store
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
        }
    }

    /// What `sync --dry-run` compares with, read-only and never created or migrated: nil when
    /// there is no SQLite file yet (a PostgreSQL database without tables holds nothing).
    func openHeldVersions() async throws -> (any HeldVersionReader)? {
        switch location {
        case .sqlite(let path):
            return FileManager.default.fileExists(atPath: path) ? try SQLiteReader(path: path) : nil
        case .postgreSQL(let url):
            do {
                return try await PostgresStore(url: try Self.postgresURL(url), logger: Logger(label: "nexmirror"), migrating: false)
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
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
        guard case .postgreSQL(let url) = location else { return try openReader(asOf: asOf) }
        do {
            return try await PostgresReader(url: try Self.postgresURL(url), asOf: asOf)
        } catch let error as PostgresURL.ParseError {
            throw error
        } catch let error as PostgresOpenError {
            throw error
        }
    }

    /// The log and the replica, read-only; with `asOf`, the replica as it stood then.
    func openReader(asOf: Timestamp? = nil) throws -> any ReplicaReader {
        switch location {
        case .sqlite(let path):
            return try asOf.map { try SQLiteReader(path: path, asOf: $0) } ?? SQLiteReader(path: path)
        case .postgreSQL:
            throw PostgreSQLGaps.refusal("this command")
        }
    }
}
