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
                return try await PostgresStore(url: try PostgresURL(url), logger: Logger(label: "nexmirror"))
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
        }
    }

    /// The store for `backup` and `check`, which only read it.
    func openMaintenance() async throws -> any StoreMaintenance {
        switch location {
        case .sqlite(let path): return try SQLiteReader(path: path)
        case .postgreSQL(let url):
            do {
                return try await PostgresReader(url: try PostgresURL(url))
            } catch let error as PostgresURL.ParseError {
                throw error
            } catch let error as PostgresOpenError {
                throw error
            }
        }
    }

    static let postgreSQLUnsupported = StoreError.unsupportedBackend(
        "PostgreSQL is not supported yet by this command (serve, import, rebuild, query, events, export, status, history and check run on it); "
            + "--db (or NEXMIRROR_DB) must be a SQLite file path here")

    /// The reader for `query`, `events`, `export`, `status` and `history`, which also run on
    /// PostgreSQL; with `asOf` (`query` and `export`), the replica as it stood then.
    func openLogReader(asOf: Timestamp? = nil) async throws -> any ReplicaReader {
        guard case .postgreSQL(let url) = location else { return try openReader(asOf: asOf) }
        do {
            return try await PostgresReader(url: try PostgresURL(url), asOf: asOf)
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
            throw Self.postgreSQLUnsupported
        }
    }
}
