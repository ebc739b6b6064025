import Foundation
import Logging
import NexMirrorCore
import NexMirrorStore

/// `nexmirror sync`: lists each kind, fetches in full what is new or newer than the replica,
/// appends each record to the log (`source = api`, exact bytes) and folds it, and logs a
/// final delete for what is gone (absent from the list and 404 on `GET …/{id}`; see
/// `APINotFound` for kinds without a Delete action).
///
/// Resumable without extra state: what was appended stays, so a run that stopped midway lists
/// again (one request per page) and fetches only what the replica still lacks.
public struct Reconciler: Sendable {
    /// The writable store, on either backend; nil for a dry run.
    public let store: (any SyncLedger)?
    /// Where the replica's versions are read from: the store, or for a dry run a read-only
    /// reader (nil when there is no database yet, so everything listed is new).
    let replica: (any HeldVersionReader)?
    public let client: NexudusClient
    public let logger: Logger
    public var pageSize = 1000
    public var dryRun: Bool { store == nil }
    /// Appends per log commit.
    public var batchSize = 100

    public init(store: any SyncLedger, client: NexudusClient, logger: Logger) {
        self.store = store
        self.replica = store
        self.client = client
        self.logger = logger
    }

    /// `--dry-run`: lists and compares with `replica` (opened read-only by the caller), fetches
    /// no full record and writes nothing, not even a new database.
    public init(dryRunAgainst replica: (any HeldVersionReader)?, client: NexudusClient, logger: Logger) {
        self.store = nil
        self.replica = replica
        self.client = client
        self.logger = logger
    }

    /// The replica's versions of `kind`; nothing held without a database.
    func versionsHeld(_ kind: NexudusKind) async throws -> HeldVersions {
        guard let replica else { return HeldVersions() }
        return try await replica.heldVersions(of: HeldKind(table: kind.table, entityType: kind.entityType))
    }

    /// Syncs `kinds` in order; stops at the first failure, which is recorded in `sync_state`
    /// for that kind and thrown. Each finished kind's report goes to `report` as it completes.
    public func run(
        _ kinds: [NexudusKind], progress: (@Sendable (SyncProgress) -> Void)? = nil,
        report: (KindReport) -> Void
    ) async throws(SyncError) -> [KindReport] {
        var reports: [KindReport] = []
        for kind in kinds {
            let started = Timestamp.now
            do {
                try await store?.syncStarted(kind: kind.name, at: started)
                let kindReport = try await sync(kind, progress: progress)
                try await store?.syncFinished(kindReport.figures, at: .now)
                reports.append(kindReport)
                report(kindReport)
            } catch {
                let failure = error as? SyncError ?? .store("\(kind.name): the database failed: \(error)")
                // The failure itself is what the caller must hear; recording it is best effort.
                try? await store?.syncFailed(kind: kind.name, error: failure.description, at: started)
                throw failure
            }
        }
        return reports
    }

    /// Folds the log as it stands, so the comparison sees webhooks already logged and this run's
    /// appends. On PostgreSQL another receiver may hold the batch (the fold is fenced, and this
    /// process then folds nothing): wait for the checkpoint to reach the log's end, for a bounded
    /// time, since a comparison with an older replica only fetches more, never deletes wrongly.
    private func foldAll() async throws {
        try await store?.foldUntilCaughtUp(limit: 500, waitingUpTo: .seconds(10))
    }

    func sync(_ kind: NexudusKind, progress: (@Sendable (SyncProgress) -> Void)?) async throws -> KindReport {
        let clock = ContinuousClock()
        let started = clock.now
        let requestsBefore = await client.requestsSent
        var report = KindReport(kind: kind)

        // Listing: what decides what to fetch.
        var listed: [Int64: Timestamp?] = [:]
        var page = 1
        var pagesPlanned = 1
        while true {
            let answer = try await client.listPage(kind.path, page: page, size: pageSize)
            let before = listed.count
            for entry in answer.entries { listed[entry.id] = entry.updatedOn }
            // A server that ignores `page` would repeat itself forever: a page of nothing new ends the list.
            if !answer.entries.isEmpty && listed.count == before { break }
            if let total = answer.totalPages { pagesPlanned = max(total, page) }
            if let progress {
                let eta = await client.pacer.secondsFor(max(pagesPlanned - page, 0))
                progress(SyncProgress(kind: kind.name, done: page, total: max(pagesPlanned, page), etaSeconds: eta))
            }
            guard answer.hasMore(after: page, askedSize: pageSize) else { break }
            page += 1
            pagesPlanned = max(pagesPlanned, page)
        }
        report.listed = listed.count

        // Comparing with the replica (folded up to now, so webhooks already logged count).
        if !dryRun { try await foldAll() }
        let held = try await versionsHeld(kind)
        var toFetch: [(id: Int64, isNew: Bool)] = []
        for (id, listedOn) in listed.sorted(by: { $0.key < $1.key }) {
            switch Self.compare(listed: listedOn, row: held.rows[id], tombstone: held.tombstones[id]) {
            case .fetch(let isNew): toFetch.append((id, isNew))
            case .unchanged: report.unchanged += 1
            }
        }
        let toCheck = held.rows.keys.filter { listed[$0] == nil }.sorted()

        let remembered = try await fetchModes()[kind.name]
        let plan = FetchPlan(
            ids: toFetch.map(\.id), remembered: remembered, now: .now, batches: { client.batches($0, path: kind.path) })
        let planned = plan.requests(ids: toFetch.count) + toCheck.count

        guard let store else {
            // Lists and compares only: what would be fetched counts as new or changed, and
            // every held id absent from the list as deleted (unconfirmed without a GET).
            report.new = toFetch.filter(\.isNew).count
            report.changed = toFetch.count - report.new
            report.deleted = toCheck.count
            report.requests = await client.requestsSent - requestsBefore
            report.plannedRequests = page + planned
            report.seconds = (clock.now - started).inSeconds
            return report
        }

        // Fetching what is new or newer, then confirming deletions.
        var fetch = FetchRun(
            kind: kind, client: client, store: store, planned: planned, deletionChecks: toCheck.count,
            progress: progress, requestsBefore: await client.requestsSent, batchSize: batchSize, fold: foldAll)
        report.predictedSeconds = await client.pacer.secondsFor(planned)
        await fetch.start()
        let isNew = Dictionary(uniqueKeysWithValues: toFetch.map { ($0.id, $0.isNew) })
        switch plan.method {
        case .single(let reason):
            if let reason { report.notice = Self.singleNotice(kind, reason) }
            for (id, new) in toFetch { try await fetch.single(id, isNew: new) }
        case .batch(let batches):
            try await fetchInBatches(batches, isNew: isNew, kind: kind, store: store, fetch: &fetch, report: &report)
        }
        for id in toCheck {
            // Absent from the list: deleted (404), or missed by the list (paging is offset-based;
            // records moved meanwhile), then kept.
            if try await fetch.single(id, isNew: false) { report.listed += 1 }
        }
        try await fetch.flush()
        report.fetched += fetch.fetched
        report.new += fetch.new
        report.changed += fetch.changed
        report.deleted += fetch.deleted
        report.unchanged += fetch.unchanged
        report.remainingSeconds = (clock.now - fetch.started).inSeconds
        report.requests = await client.requestsSent - requestsBefore
        report.seconds = (clock.now - started).inSeconds
        return report
    }

    /// Fetches `batches` with `GET …/?id=[…]`, checking the form on the first batch (`BatchCheck`)
    /// and falling back to `GET …/{id}` for the rest of the run when it is refused or differs. An
    /// id a batch answer lacks, or holds without every key of a full record, is asked for singly.
    private func fetchInBatches(
        _ batches: [[Int64]], isNew: [Int64: Bool], kind: NexudusKind, store: any SyncLedger, fetch: inout FetchRun,
        report: inout KindReport
    ) async throws {
        enum State { case unchecked, trusted(keys: Set<String>), single }
        var state = State.unchecked
        func fallBack(_ why: String, idsLeft: Int) async throws {
            state = .single
            report.notice = Self.singleNotice(kind, why)
            try await store.recordFetchMode(FetchMode(form: .single, note: why, checkedAt: .now), kind: kind.name)
            report.predictedSeconds = await fetch.replan(idsLeft: idsLeft)
        }
        for (index, batch) in batches.enumerated() {
            let left = batches[index...].reduce(0) { $0 + $1.count }
            if case .single = state {
                for id in batch { try await fetch.single(id, isNew: isNew[id] ?? true) }
                continue
            }
            let records: [Int64: [UInt8]]
            switch try await client.records(kind.path, ids: batch) {
            case .records(let found): records = found
            case .refused(let status):
                try await fallBack("the API refused the batch form (HTTP \(status))", idsLeft: left)
                for id in batch { try await fetch.single(id, isNew: isNew[id] ?? true) }
                continue
            case .unreadable(let why):
                try await fallBack(why, idsLeft: left)
                for id in batch { try await fetch.single(id, isNew: isNew[id] ?? true) }
                continue
            }
            await fetch.tick()
            var singles: [Int64: [UInt8]?] = [:]
            if case .unchecked = state {
                for id in FetchPlan.sample(of: batch) {
                    singles[id] = .some(try await client.record(kind.path, id: id))
                    await fetch.tick()
                }
                switch BatchCheck.compare(singles: singles, batch: records) {
                case .equal(let keys):
                    state = .trusted(keys: keys)
                    try await store.recordFetchMode(FetchMode(form: .batch, checkedAt: .now), kind: kind.name)
                case .differs(let why):
                    try await fallBack(why, idsLeft: left - singles.count)
                case .inconclusive:
                    break
                }
            }
            for id in batch {
                if let single = singles[id] {
                    try await fetch.keep(id, body: single, isNew: isNew[id] ?? true)
                } else if case .trusted(let keys) = state, let record = records[id], BatchCheck.isWhole(record, keys: keys) {
                    try await fetch.keep(id, body: record, isNew: isNew[id] ?? true)
                } else {
                    if case .trusted = state { fetch.expectOneMore() }
                    try await fetch.single(id, isNew: isNew[id] ?? true)
                }
            }
        }
    }

    /// The one line `sync` prints when a kind is fetched one record per request.
    static func singleNotice(_ kind: NexudusKind, _ reason: String) -> String {
        "\(kind.name): fetching one record per request (GET …/{id}), not in batches: \(reason)"
    }

    /// How each kind was last fetched; nothing for a dry run without a database.
    func fetchModes() async throws -> [String: FetchMode] {
        guard let replica else { return [:] }
        return try await replica.fetchModes()
    }

    enum Verdict: Equatable { case fetch(isNew: Bool), unchanged }

    /// Fetch what the replica lacks or holds older than the list says. A tombstone counts as
    /// held at its version; a final one (no `UpdatedOn`) is never fetched again.
    static func compare(listed: Timestamp?, row: String??, tombstone: String??) -> Verdict {
        let heldRow = row.map { FoldVersion.instant($0, isDelete: false) }
        let heldTombstone = tombstone.map { FoldVersion.instant($0, isDelete: true) }
        guard let held = [heldRow, heldTombstone].compactMap({ $0 }).max() else { return .fetch(isNew: true) }
        guard let listed else { return .unchanged }
        return listed.description > held ? .fetch(isNew: false) : .unchanged
    }

    /// A sync-detected delete: the API has no last state to give, so the body is the bare id,
    /// without `UpdatedOn`, which makes it final (SPEC §4.3): Nexudus never reuses an id, and
    /// no late webhook may bring back what the API answers 404 for. The same bytes each time,
    /// so detecting it again appends nothing. Kinds without a Delete action (resources,
    /// businesses) log it as the API's 404 (`APINotFound`), which the fold deletes by.
    static func deletion(_ id: Int64, of kind: NexudusKind) -> NewDelivery {
        APINotFound.delivery(
            id: id, entityType: kind.entityType, deleteAction: kind.deleteAction, recordAction: kind.recordAction)
    }
}
