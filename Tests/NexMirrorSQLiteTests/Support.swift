import Foundation
import NexudusFixtures
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
@testable import NexMirrorSQLite

/// The shared fixtures (`NexudusFixtures`) as the store takes them.
enum StoreFixtures {
    static let directory = NexudusFixtures.directory
    static let names = NexudusFixtures.names

    static func body(_ name: String) -> [UInt8] { NexudusFixtures.body(name) }

    static func action(of name: String) -> WebhookAction {
        ActionCatalog.action(named: NexudusFixtures.action(of: name))!
    }

    static func delivery(_ name: String) -> NewDelivery {
        NewDelivery(action: action(of: name), body: body(name), source: .webhook, signature: .raw)
    }
}

/// A fresh store in a temporary directory, removed afterwards.
final class TemporaryStore {
    let directory: URL
    let store: SQLiteStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("test.sqlite").path)
        try store.registerProjectionsAndRebuildChanged()
    }

    /// Opens an existing database (which is left where it is).
    init(opening path: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        store = try SQLiteStore(path: path)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    @discardableResult
    func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult] {
        try await store.append(deliveries)
    }

    func foldAll() async throws {
        while try await store.foldPending(limit: 7) > 0 {}
    }

    func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try store.pool.read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
    }

    func value<T: DatabaseValueConvertible>(_ sql: String, _ arguments: StatementArguments = []) throws -> T? {
        try store.pool.read { db in try T.fetchOne(db, sql: sql, arguments: arguments) }
    }

    /// Every replica table as sorted text rows, without log positions (which depend on arrival
    /// order), for comparing replicas.
    func replicaSnapshot() throws -> [String: [String]] {
        var snapshot: [String: [String]] = [:]
        for table in Projections.replicaTables {
            let rows = try self.rows("SELECT * FROM \(table)")
            snapshot[table] = rows.map { row in
                row.columnNames.filter { $0 != "seq" }.map { "\($0)=\(row[$0] as DatabaseValue)" }
                    .joined(separator: "|")
            }.sorted()
        }
        return snapshot
    }
}
