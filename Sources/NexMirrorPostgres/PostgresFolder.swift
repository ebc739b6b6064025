import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import PostgresNIO
import Synchronization

/// A delivery as read back from the log for folding.
struct PGLoggedEvent: Sendable {
    let seq: Int64
    let action: String
    let entityType: String?
    let body: [UInt8]
    let status: String
    /// `api-404` marks the API's 404 as a delete (see `APINotFound`).
    let signature: String?
}

/// Folds the log into the replica tables on PostgreSQL with the shared rule (`FoldRule`).
///
/// Fenced in the database: each batch runs in one transaction that first locks the checkpoint
/// rows it will advance (`FOR UPDATE SKIP LOCKED`), so whatever number of receivers run a
/// projector, a delivery is folded into a projection exactly once, and a process killed
/// mid-batch leaves rows and checkpoint rolled back together.
struct PostgresFolder {
    let client: PostgresClient
    let logger: Logger

    func foldPending(limit: Int) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            // The replica can always be refolded from the log: no need to wait for the flush.
            try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            var checkpoints: [String: Int64] = [:]
            for try await (name, checkpoint) in try await connection.query(
                "SELECT name, checkpoint FROM projections ORDER BY name FOR UPDATE SKIP LOCKED", logger: logger
            ).decode((String, Int64).self) {
                checkpoints[name] = checkpoint
            }
            // Every row locked by another projector (or a rebuild swap): nothing to do here.
            guard let from = checkpoints.values.min() else { return 0 }
            let events = try await Self.events(after: from, limit: limit, on: connection, logger: logger)
            guard let last = events.last?.seq else { return 0 }
            let folder = PGReplicaFolder(connection: connection, logger: logger, suffix: "")
            for event in events {
                try await folder.fold(event) { projection in
                    checkpoints[projection.name].map { event.seq > $0 } ?? false
                }
            }
            try await connection.query("""
                UPDATE projections SET checkpoint = \(last), updated_at = \(Timestamp.now.description)
                WHERE name = ANY(\(Array(checkpoints.keys))) AND checkpoint < \(last)
                """, logger: logger)
            return events.count
        }
    }

    static func events(after seq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> [PGLoggedEvent]
    {
        var events: [PGLoggedEvent] = []
        events.reserveCapacity(limit)
        for try await (seq, action, entityType, body, status, signature) in try await connection.query("""
            SELECT seq, action, entity_type, body, status, signature FROM events WHERE seq > \(seq) ORDER BY seq LIMIT \(Int64(limit))
            """, logger: logger).decode((Int64, String, String?, ByteBuffer, String, String?).self) {
            events.append(PGLoggedEvent(
                seq: seq, action: action, entityType: entityType, body: Array(buffer: body), status: status,
                signature: signature))
        }
        return events
    }
}

/// Applies one delivery to the live replica tables on one connection, inside the caller's
/// transaction (a rebuild and `check` fold whole batches with `PGBatchFolder`).
struct PGReplicaFolder {
    let connection: PostgresConnection
    let logger: Logger
    let suffix: String

    /// Prepares the delivery (decode and project, shared with every backend), reads the
    /// entity's current versions, and applies what `FoldRule` decides.
    func fold(_ event: PGLoggedEvent, selected: Set<String>? = nil, when shouldFold: (any Projection) -> Bool = { _ in true })
        async throws
    {
        let plan: FoldPlan
        switch FoldPreparation.of(
            seq: event.seq, action: event.action, entityType: event.entityType, body: event.body, status: event.status,
            signature: event.signature, selected: selected, shouldFold: shouldFold)
        {
        case .skip: return
        case .quarantine(let reason): return try await quarantine(event.seq, reason: reason)
        case .fold(let prepared): plan = prepared
        }
        let projection = plan.projection
        let sql = PGFoldSQL.statements(for: projection, suffix: suffix)
        var key = PostgresBindings()
        key.append(plan.entityId)
        if projection.keyedByEntityType { key.append(plan.entityType) }
        var tombstoneKey = PostgresBindings()
        tombstoneKey.append(plan.entityType)
        tombstoneKey.append(plan.entityId)
        let row = try await version(sql.selectVersion, key, isDelete: false)
        let tombstone = try await version(sql.selectTombstone, tombstoneKey, isDelete: true)
        let changes = FoldRule.changes(incoming: plan.version, row: row, tombstone: tombstone)

        if changes.contains(.insertHistory), let history = plan.history, let insertHistory = sql.insertHistory {
            var values = PostgresBindings()
            values.append(event.seq)
            for value in history { values.bind(value) }
            try await run(insertHistory, values)
        }
        if changes.contains(.writeTombstone) {
            var values = tombstoneKey
            values.bind(plan.version.updatedOn.map(SQLValue.text) ?? .null)
            values.append(event.seq)
            try await run(sql.upsertTombstone, values)
        }
        if changes.contains(.deleteRow) {
            try await run(sql.deleteRow, key)
            for deleteChildren in sql.deleteChildren {
                var parent = PostgresBindings()
                parent.append(plan.entityId)
                try await run(deleteChildren, parent)
            }
        }
        if changes.contains(.upsertRow), let projected = plan.row {
            var values = PostgresBindings()
            for value in projected.values { values.bind(value) }
            try await run(sql.upsertRow, values)
            for (index, rows) in plan.children.enumerated() {
                var parent = PostgresBindings()
                parent.append(plan.entityId)
                try await run(sql.deleteChildren[index], parent)
                for childRow in rows {
                    var values = PostgresBindings()
                    values.append(plan.entityId)
                    for value in childRow { values.bind(value) }
                    try await run(sql.insertChildren[index], values)
                }
            }
        }
    }

    private func version(_ sql: String, _ binds: PostgresBindings, isDelete: Bool) async throws -> FoldVersion? {
        for try await (updatedOn, seq) in try await connection.query(
            PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger
        ).decode((String?, Int64).self) {
            return FoldVersion(updatedOn: updatedOn, isDelete: isDelete, seq: seq)
        }
        return nil
    }

    private func run(_ sql: String, _ binds: PostgresBindings) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    private func quarantine(_ seq: Int64, reason: String) async throws {
        try await connection.query(
            "UPDATE events SET status = \(DeliveryStatus.quarantined.rawValue), error = \(reason) WHERE seq = \(seq)", logger: logger)
    }
}

/// The row and tombstone versions a rebuild (or `check`) has written so far to tables only it
/// writes, by key: its fold needs no reads.
final class KnownVersions: Sendable {
    private let state = Mutex<(rows: [String: FoldVersion], tombstones: [String: FoldVersion])>(([:], [:]))

    func versions(row: String, tombstone: String) -> (FoldVersion?, FoldVersion?) {
        state.withLock { ($0.rows[row], $0.tombstones[tombstone]) }
    }

    func record(_ changes: ReplicaChanges, _ version: FoldVersion, row: String, tombstone: String) {
        state.withLock { state in
            if changes.contains(.upsertRow) { state.rows[row] = version }
            if changes.contains(.deleteRow) { state.rows[row] = nil }
            if changes.contains(.writeTombstone) { state.tombstones[tombstone] = version }
        }
    }
}

extension PostgresBindings {
    mutating func bind(_ value: SQLValue) {
        switch value {
        case .null: appendNull()
        case .integer(let integer): append(integer)
        case .real(let real): append(real)
        case .text(let text): append(text)
        }
    }
}

/// The SQL a projection's fold needs on PostgreSQL, built once per (projection, suffix) from its
/// declared table and column names; every value is a bound parameter.
struct PGFoldSQL: Sendable {
    let selectVersion: String
    let selectTombstone: String
    let upsertRow: String
    let deleteRow: String
    let upsertTombstone: String
    let deleteChildren: [String]
    let insertChildren: [String]
    let insertHistory: String?

    private static let cache = Mutex<[String: PGFoldSQL]>([:])

    static func statements(for projection: any Projection, suffix: String) -> PGFoldSQL {
        let cacheKey = projection.name + suffix
        if let cached = cache.withLock({ $0[cacheKey] }) { return cached }
        let built = PGFoldSQL(projection, suffix)
        cache.withLock { $0[cacheKey] = built }
        return built
    }

    private init(_ projection: any Projection, _ suffix: String) {
        let table = projection.table + suffix
        let keyPredicate = projection.keyedByEntityType ? "id = $1 AND entity_type = $2" : "id = $1"
        let key = projection.keyedByEntityType ? "entity_type, id" : "id"
        let columns = ProjectedRow.columns(of: projection)
        let tombstones = "tombstones" + suffix
        selectVersion = "SELECT updated_on, seq FROM \(table) WHERE \(keyPredicate)"
        selectTombstone = "SELECT updated_on, seq FROM \(tombstones) WHERE entity_type = $1 AND id = $2"
        let updates = columns.filter { $0 != "id" && $0 != "entity_type" }.map { "\($0) = EXCLUDED.\($0)" }
        upsertRow = """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count))) \
            ON CONFLICT (\(key)) DO UPDATE SET \(updates.joined(separator: ", "))
            """
        deleteRow = "DELETE FROM \(table) WHERE \(keyPredicate)"
        upsertTombstone = """
            INSERT INTO \(tombstones) (entity_type, id, updated_on, seq) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (entity_type, id) DO UPDATE SET updated_on = EXCLUDED.updated_on, seq = EXCLUDED.seq
            """
        deleteChildren = projection.childTables.map { "DELETE FROM \($0.name + suffix) WHERE \($0.parentColumn) = $1" }
        insertChildren = projection.childTables.map { child in
            let columns = [child.parentColumn] + child.columns
            return "INSERT INTO \(child.name + suffix) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count))) ON CONFLICT DO NOTHING"
        }
        insertHistory = projection.historyTable.map { history in
            let columns = ["seq"] + history.columns
            return "INSERT INTO \(history.name + suffix) (\(columns.joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count))) ON CONFLICT DO NOTHING"
        }
    }

    private static func placeholders(_ count: Int) -> String {
        (1...count).map { "$\($0)" }.joined(separator: ", ")
    }
}
