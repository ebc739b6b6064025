import NexMirrorCore
import NexMirrorStore

/// The fetch phase of one kind's sync: appends what was fetched to the log in commits of
/// `batchSize`, counts the outcome, and reports progress in requests, against a plan that a
/// fallback to single GETs or an id missing from a batch answer makes longer.
struct FetchRun {
    let kind: NexudusKind
    let client: NexudusClient
    let store: any SyncLedger
    /// Requests the fetch phase is expected to take; `deletionChecks` of them come last.
    var planned: Int
    let deletionChecks: Int
    let progress: (@Sendable (SyncProgress) -> Void)?
    let batchSize: Int
    let fold: () async throws -> Void
    let started = ContinuousClock.now
    private let requestsBefore: Int
    private var done = 0
    private var lastETA = ContinuousClock.now - .seconds(10)

    private var pending: [NewDelivery] = []
    private var pendingIsNew: [Bool?] = []  // per delivery; nil for a delete
    private(set) var fetched = 0
    private(set) var new = 0
    private(set) var changed = 0
    private(set) var deleted = 0
    private(set) var unchanged = 0

    init(
        kind: NexudusKind, client: NexudusClient, store: any SyncLedger, planned: Int, deletionChecks: Int,
        progress: (@Sendable (SyncProgress) -> Void)?, requestsBefore: Int, batchSize: Int,
        fold: @escaping () async throws -> Void
    ) {
        self.kind = kind
        self.client = client
        self.store = store
        self.planned = planned
        self.deletionChecks = deletionChecks
        self.progress = progress
        self.requestsBefore = requestsBefore
        self.batchSize = batchSize
        self.fold = fold
    }

    /// Shows the plan and its estimate before the first request.
    mutating func start() async { await tick() }

    /// `GET …/{id}`: keeps the record, or logs the delete when the API answers 404. Whether a
    /// record was kept.
    @discardableResult
    mutating func single(_ id: Int64, isNew: Bool) async throws -> Bool {
        let body = try await client.record(kind.path, id: id)
        await tick()
        try await keep(id, body: body, isNew: isNew)
        return body != nil
    }

    /// Appends a fetched record (nil: the API answered 404, a delete).
    mutating func keep(_ id: Int64, body: [UInt8]?, isNew: Bool) async throws {
        if let body {
            fetched += 1
            pending.append(NewDelivery(
                action: kind.recordAction, body: body, source: .api, signature: .api,
                entityType: kind.entityType))
            pendingIsNew.append(isNew)
        } else {
            // Listed a moment ago and gone now: deleted meanwhile (or gone from the list and 404).
            pending.append(Reconciler.deletion(id, of: kind))
            pendingIsNew.append(nil)
        }
        if pending.count >= batchSize { try await flush() }
    }

    mutating func flush() async throws {
        guard !pending.isEmpty else { return }
        let results = try await store.append(pending)
        for (result, isNew) in zip(results, pendingIsNew) {
            switch (result.duplicate, isNew) {
            case (true, _): unchanged += 1
            case (false, true?): new += 1
            case (false, false?): changed += 1
            case (false, nil): deleted += 1
            }
        }
        pending = []
        pendingIsNew = []
        try await fold()
    }

    /// The batch form was given up: what is left is `ids` single GETs, then the deletion checks.
    /// The fetch's new estimate: the time spent so far and the pace's for the rest.
    mutating func replan(idsLeft ids: Int) async -> Double {
        let done = await requestsDone()
        planned = done + ids + deletionChecks
        return (ContinuousClock.now - started).inSeconds + (await client.pacer.secondsFor(planned - done))
    }

    /// One more request than planned (an id a batch answer lacked).
    mutating func expectOneMore() { planned += 1 }

    private func requestsDone() async -> Int { await client.requestsSent - requestsBefore }

    /// After a request: the pacer's estimate (pace and hourly budget), or the observed rate when
    /// slower; refreshed once a second, as simulating the budget costs more than a request.
    mutating func tick() async {
        guard let progress else { return }
        done = await requestsDone()
        planned = max(planned, done)
        let now = ContinuousClock.now
        guard now - lastETA >= .seconds(1) || done == planned else { return }
        lastETA = now
        let elapsed = (now - started).inSeconds
        let paced = await client.pacer.secondsFor(planned - done)
        let observed = done > 0 ? Double(planned - done) * elapsed / Double(done) : 0
        progress(SyncProgress(kind: kind.name, done: done, total: planned, etaSeconds: max(paced, observed)))
    }
}
