import Foundation
import Logging
import NexMirrorPostgres
import NexMirrorSQLite
import NexMirrorProjections
import NexMirrorStore
import NexMirrorTestSupport
import NexudusFixtures
import Synchronization
import Testing

/// The two stores of SPEC §6 that every contract test runs on, each test written once:
/// `@Test(arguments: Backend.all)`.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// A fresh SQLite file in a temporary directory.
    case sqlite
    /// A fresh database on the test cluster (`NEXMIRROR_PG_URL`, else one scripts/pg starts).
    case postgresql

    static let all = allCases

    var testDescription: String { rawValue }

    /// Skips this test case when it needs a cluster and none can be started: the one reason a
    /// contract test may not run on PostgreSQL. Only this case is skipped, never the SQLite one.
    func requireAvailable() throws {
        if self == .postgresql, !PostgresCluster.available { try Test.cancel(PostgresCluster.unavailable) }
    }

    /// A new, empty database on this backend (no schema yet: the first command that writes creates it).
    func makeDatabase() throws -> ContractDatabase {
        try requireAvailable()
        let scratch = Scratch()
        switch self {
        case .sqlite: return ContractDatabase(backend: self, db: scratch.path("mirror.sqlite"), scratch: scratch)
        case .postgresql: return ContractDatabase(backend: self, db: try PostgresCluster.makeDatabase(), scratch: scratch)
        }
    }
}

/// One backend's database for one test: the `--db` value every command gets, the store and the
/// reader opened through the backend-neutral protocols, and a scratch directory for secret and
/// import files (and the SQLite file).
final class ContractDatabase {
    let backend: Backend
    /// The `--db` value: a SQLite path or a `postgresql://` URL.
    let db: String
    let scratch: Scratch

    init(backend: Backend, db: String, scratch: Scratch) {
        self.backend = backend
        self.db = db
        self.scratch = scratch
    }

    /// The log and the replica for writing, as `import` and `rebuild` open them.
    func openStore() async throws -> any ReplicaStore {
        switch backend {
        case .sqlite: return try SQLiteStore(path: db)
        case .postgresql: return try await PostgresStore(url: try PostgresURL(db), deadline: testDeadline, logger: Logger(label: "contract"))
        }
    }

    /// The log and the replica, read-only, as `query`, `events` and `export` open them.
    func openReader() async throws -> any ReplicaReader {
        switch backend {
        case .sqlite: return try SQLiteReader(path: db)
        case .postgresql: return try await PostgresReader(url: try PostgresURL(db))
        }
    }

    /// Runs the real binary on this database.
    func run(_ arguments: [String], stdin: [UInt8]? = nil) async throws -> CommandResult {
        try await CLI.run(arguments + ["--db", db], stdin: stdin)
    }

    /// A real `serve` on this database, verifying with `secrets` (the fixtures' by default).
    func serve(_ extra: [String] = [], secrets: [String] = [NexudusFixtures.secret]) async throws -> RunningServer {
        let secretFile = scratch.path("serve-\(UUID().uuidString).secret")
        try Data((secrets.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        return try await RunningServer(arguments: ["--db", db, "--secret-file", secretFile] + extra)
    }

    /// Appends `lines` (`{"action":…,"body":…}`) with `nexmirror import`, which also folds them.
    @discardableResult
    func importLines(_ lines: [String]) async throws -> CommandResult {
        let file = scratch.path("import-\(UUID().uuidString).jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let result = try await run(["import", file])
        #expect(result.status == 0, "import on \(backend): \(result.stderr)")
        return result
    }

    /// The rows of `sql` (portable SQL) as `query` renders them, read through `ReplicaReader`.
    func rows(_ sql: String, on reader: (any ReplicaReader)? = nil) async throws -> [[String]] {
        var collected = CollectedRows()
        if let reader {
            try await reader.query(sql, parameters: try QueryParameters([]), into: &collected)
        } else {
            try await openReader().query(sql, parameters: try QueryParameters([]), into: &collected)
        }
        return collected.rows
    }

    /// The single value of `sql`.
    func value(_ sql: String) async throws -> String? {
        try await rows(sql).first?.first
    }

    /// Waits until every projection's checkpoint reaches the end of the log.
    func waitUntilFolded(within seconds: Double = 60) async throws {
        let reader = try await openReader()
        let folded = try await eventually(within: seconds) {
            try await value(
                "SELECT CASE WHEN (SELECT max(seq) FROM events) = (SELECT min(checkpoint) FROM projections) THEN 1 ELSE 0 END",
                on: reader) == "1"
        }
        #expect(folded, "\(backend): the projections did not reach the end of the log")
    }

    private func value(_ sql: String, on reader: any ReplicaReader) async throws -> String? {
        try await rows(sql, on: reader).first?.first
    }

    /// The tables folded from the log (SPEC §4.2).
    static let replicaTables = Projections.replicaTables

    /// Every replica table as sorted rows without `seq` (a log position, which depends on arrival
    /// order), for comparing two replicas of one backend.
    func replicaDump() async throws -> [String: [String]] {
        let reader = try await openReader()
        var dump: [String: [String]] = [:]
        for table in Self.replicaTables {
            var collected = CollectedRows()
            try await reader.query("SELECT * FROM \(table)", parameters: try QueryParameters([]), into: &collected)
            let kept = collected.columns.indices.filter { collected.columns[$0] != "seq" }
            dump[table] = collected.rows.map { row in
                kept.map { "\(collected.columns[$0])=\(row[$0])" }.joined(separator: "|")
            }.sorted()
        }
        return dump
    }
}

/// A `RowWriter` that keeps what it is given, rendered as `query` prints it (NULL as `NULL`).
struct CollectedRows: RowWriter {
    var columns: [String] = []
    var rows: [[String]] = []

    mutating func begin(columns: [String]) throws { self.columns = columns }
    mutating func write(_ row: [Cell]) throws { rows.append(row.map { $0.rendered ?? "NULL" }) }
    mutating func end() throws {}
}

/// What the two backends print for the same log, compared between them: each backend's test case
/// records its output under a key, and whichever comes second expects the first one's bytes. Both
/// cases of a test run in one `swift test` process; when PostgreSQL is skipped there is nothing to
/// compare with, and each case's own expectations still hold.
enum CrossBackend {
    private static let recorded = Mutex<[String: (backend: Backend, bytes: Data)]>([:])

    static func expectSame(
        _ key: String, _ bytes: Data, on backend: Backend, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let other = recorded.withLock { recorded -> (backend: Backend, bytes: Data)? in
            if let first = recorded[key], first.backend != backend { return first }
            recorded[key] = (backend, bytes)
            return nil
        }
        guard let other else { return }
        #expect(
            bytes == other.bytes,
            "\(key): \(backend) and \(other.backend) differ\n\(String(decoding: bytes, as: UTF8.self))\n--- \(other.backend):\n\(String(decoding: other.bytes, as: UTF8.self))",
            sourceLocation: sourceLocation)
    }

    static func expectSame(
        _ key: String, _ text: String, on backend: Backend, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectSame(key, Data(text.utf8), on: backend, sourceLocation: sourceLocation)
    }
}

/// CSV output without the columns at `dropped` (each receiver's own clock, such as `received_at`).
func csvWithout(columns dropped: Set<Int>, _ text: String) -> String {
    text.split(separator: "\r\n", omittingEmptySubsequences: false).map { line in
        line.split(separator: ",", omittingEmptySubsequences: false).enumerated()
            .filter { !dropped.contains($0.offset) }.map(\.element).joined(separator: ",")
    }.joined(separator: "\r\n")
}

/// The fixtures, plus a generated history of creates, updates and deletes in every date form, as
/// `import` lines: the logs the contract tests load on both backends.
enum ContractLogs {
    static func fixtures(withoutDeletes: Bool = false) -> [String] {
        NexudusFixtures.importLines(NexudusFixtures.names.filter { !withoutDeletes || !$0.contains("Delete") })
    }

    /// A fixed set of genes, so both backends get the same log.
    static let generatedGenes = (0..<160).map { ($0 * 7919 + 13) % 100_000 }

    static func generated() -> [String] {
        History.deliveries(genes: generatedGenes).map { delivery in
            let line = ["action": delivery.action.name, "body": String(decoding: delivery.body, as: UTF8.self)]
            return String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
        }
    }
}
