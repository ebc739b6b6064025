import Foundation
import Logging
import NexMirrorCore
import NexMirrorSQLite
import NexMirrorStore

/// What one kind's sync found (SPEC §7): the summary line and the drift in `sync_state`.
public struct KindReport: Sendable, CustomStringConvertible {
    public let kind: NexudusKind
    public var listed = 0
    public var fetched = 0
    /// Drift: ids the replica did not hold, held older, or that are gone from the API.
    public var new = 0
    public var changed = 0
    public var deleted = 0
    public var unchanged = 0
    /// Ids gone from the API of a kind no catalog action deletes (resources, businesses).
    public var gone = 0
    public var requests = 0
    public var seconds = 0.0
    /// The remaining time predicted once the list was read, and the time it then took.
    public var predictedSeconds: Double?
    public var remainingSeconds: Double?

    public var description: String {
        var text = "\(kind.name): listed \(listed), fetched \(fetched), new \(new), changed \(changed), "
            + "deleted \(deleted), unchanged \(unchanged)"
        if gone > 0 { text += ", \(gone) gone (not deleted: no \(kind.entityType) delete action)" }
        return text + String(format: " (%d requests, %.1f s)", requests, seconds)
    }
}

/// Progress of a kind for a progress bar: requests done and planned, and the estimate left.
public struct SyncProgress: Sendable {
    public let kind: String
    public let done: Int
    public let total: Int
    public let etaSeconds: Double
}

/// `nexmirror sync`: lists each kind, fetches in full what is new or newer than the replica,
/// appends each record to the log (`source = api`, exact bytes) and folds it, and logs a
/// final delete for what is gone (absent from the list and 404 on `GET …/{id}`).
///
/// Resumable without extra state: what was appended stays, so a run that stopped midway lists
/// again (one request per page) and fetches only what the replica still lacks.
public struct Reconciler: Sendable {
    public let store: SQLiteStore
    public let client: NexudusClient
    public let logger: Logger
    public var pageSize = 1000
    public var dryRun = false
    /// Appends per log commit.
    public var batchSize = 100

    public init(store: SQLiteStore, client: NexudusClient, logger: Logger, dryRun: Bool = false) {
        self.store = store
        self.client = client
        self.logger = logger
        self.dryRun = dryRun
    }

    var ledger: SyncLedger { SyncLedger(store: store) }

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
                if !dryRun { try await ledger.started(kind, at: started) }
                let kindReport = try await sync(kind, progress: progress)
                if !dryRun { try await ledger.finished(kindReport, at: .now) }
                reports.append(kindReport)
                report(kindReport)
            } catch {
                let failure = error as? SyncError ?? .store("\(kind.name): the database failed: \(error)")
                if !dryRun { await ledger.failed(kind, error: failure.description, at: started) }
                throw failure
            }
        }
        return reports
    }

    private func foldAll() async throws {
        while try await store.foldPending(limit: 500) == 500 {}
    }

    func sync(_ kind: NexudusKind, progress: (@Sendable (SyncProgress) -> Void)?) async throws -> KindReport {
        let clock = ContinuousClock()
        let started = clock.now
        let requestsBefore = await client.requestsSent
        var report = KindReport(kind: kind)
        let interval = client.pacer.interval.seconds

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
            progress?(SyncProgress(
                kind: kind.name, done: page, total: max(pagesPlanned, page),
                etaSeconds: Double(max(pagesPlanned - page, 0)) * interval))
            guard answer.hasMore(after: page, askedSize: pageSize) else { break }
            page += 1
            pagesPlanned = max(pagesPlanned, page)
        }
        report.listed = listed.count

        // Comparing with the replica (folded up to now, so webhooks already logged count).
        if !dryRun { try await foldAll() }
        let held = try await ledger.held(kind)
        var toFetch: [(id: Int64, isNew: Bool)] = []
        for (id, listedOn) in listed.sorted(by: { $0.key < $1.key }) {
            switch Self.compare(listed: listedOn, row: held.rows[id], tombstone: held.tombstones[id]) {
            case .fetch(let isNew): toFetch.append((id, isNew))
            case .unchanged: report.unchanged += 1
            }
        }
        let missing = held.rows.keys.filter { listed[$0] == nil }.sorted()
        let toCheck = kind.deleteAction == nil ? [] : missing
        if kind.deleteAction == nil { report.gone = missing.count }

        if dryRun {
            // Lists and compares only: what would be fetched counts as new or changed, and
            // every held id absent from the list as deleted (unconfirmed without a GET).
            report.new = toFetch.filter(\.isNew).count
            report.changed = toFetch.count - report.new
            report.deleted = toCheck.count
            report.requests = await client.requestsSent - requestsBefore
            report.seconds = (clock.now - started).seconds
            return report
        }

        // Fetching what is new or newer, then confirming deletions.
        let planned = toFetch.count + toCheck.count
        let fetchStarted = clock.now
        report.predictedSeconds = Double(planned) * interval
        var done = 0
        var batch: [NewDelivery] = []
        var batchKinds: [Bool?] = []  // isNew per delivery; nil for a delete
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let results = try await store.append(batch)
            for (result, isNew) in zip(results, batchKinds) {
                switch (result.duplicate, isNew) {
                case (true, _): report.unchanged += 1
                case (false, true?): report.new += 1
                case (false, false?): report.changed += 1
                case (false, nil): report.deleted += 1
                }
            }
            batch = []
            batchKinds = []
            try await foldAll()
        }
        func tick() {
            done += 1
            let elapsed = (clock.now - fetchStarted).seconds
            let rate = max(interval, elapsed / Double(done))
            progress?(SyncProgress(kind: kind.name, done: done, total: planned, etaSeconds: Double(planned - done) * rate))
        }

        for (id, isNew) in toFetch {
            let body = try await client.record(kind.path, id: id)
            tick()
            if let body {
                report.fetched += 1
                batch.append(NewDelivery(
                    action: kind.recordAction, body: body, source: .api, signature: "api", entityType: kind.entityType))
                batchKinds.append(isNew)
            } else if let deleteAction = kind.deleteAction {
                // Listed a moment ago and gone now: deleted meanwhile.
                batch.append(Self.deletion(id, action: deleteAction))
                batchKinds.append(nil)
            }
            if batch.count >= batchSize { try await flush() }
        }
        for id in toCheck {
            let body = try await client.record(kind.path, id: id)
            tick()
            if let body {
                // Missed by the list (paging is offset-based; records moved meanwhile): keep it.
                report.fetched += 1
                report.listed += 1
                batch.append(NewDelivery(
                    action: kind.recordAction, body: body, source: .api, signature: "api", entityType: kind.entityType))
                batchKinds.append(false)
            } else {
                batch.append(Self.deletion(id, action: kind.deleteAction!))
                batchKinds.append(nil)
            }
            if batch.count >= batchSize { try await flush() }
        }
        try await flush()
        report.remainingSeconds = (clock.now - fetchStarted).seconds
        report.requests = await client.requestsSent - requestsBefore
        report.seconds = (clock.now - started).seconds
        return report
    }

    enum Verdict: Equatable { case fetch(isNew: Bool), unchanged }

    /// Fetch what the replica lacks or holds older than the list says. A tombstone counts as
    /// held at its version; a final one (no `UpdatedOn`) is never fetched again.
    static func compare(listed: Timestamp?, row: String??, tombstone: String??) -> Verdict {
        let heldRow = row.map { $0 ?? "" }
        let heldTombstone = tombstone.map { $0 ?? "~" }
        guard let held = [heldRow, heldTombstone].compactMap({ $0 }).max() else { return .fetch(isNew: true) }
        guard let listed else { return .unchanged }
        return listed.description > held ? .fetch(isNew: false) : .unchanged
    }

    /// A sync-detected delete: the API has no last state to give, so the body is the bare id,
    /// without `UpdatedOn`, which makes it final (SPEC §4.3): Nexudus never reuses an id, and
    /// no late webhook may bring back what the API answers 404 for. The same bytes each time,
    /// so detecting it again appends nothing.
    static func deletion(_ id: Int64, action: WebhookAction) -> NewDelivery {
        NewDelivery(action: action, body: Array("{\"Id\":\(id)}".utf8), source: .api, signature: "api")
    }
}
