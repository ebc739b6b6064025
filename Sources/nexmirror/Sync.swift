import ArgumentParser
import Foundation
import Logging
import NexMirrorCore
import NexMirrorStore
import NexMirrorSync

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Backfill and reconcile the replica from the Nexudus REST API.",
        discussion: """
            Lists every record of each kind, fetches in full what the replica lacks or holds older \
            (in batches, GET …/?id=[a,b,…], once a check on a few ids finds the batch answer equal \
            to GET …/{id}; else one GET …/{id} per record, and sync says so in one line), \
            appends each record to the event log (source 'api', the exact bytes) and folds it; an id no longer listed whose GET answers 404 is deleted. What it found that \
            webhooks had not delivered (new, changed, deleted) is the drift, kept per kind for \
            `status`. Running it again appends nothing new; a run that stopped continues.

            Kinds: \(kindNames).

            Credentials: NEXUDUS_USERNAME and NEXUDUS_PASSWORD (NEXUDUS_TOTP for a first sign-in \
            with two-factor), or --credentials-file. After the first sign-in the refresh token in \
            the token file is enough (NEXUDUS_USERNAME alone may stay set; the password is asked \
            for only when the token is refused). The token file is nexmirror.nexudus beside a SQLite \
            database; on PostgreSQL (--db postgresql://…) pass --token-file, as the database has \
            no directory beside it and must never hold the token (query could read it). The user needs the List and Read roles of each kind (or full \
            administrator rights).

            Polite by default: 120 requests a minute, never more than 10 a second, and never more \
            than Nexudus' 5000 in any hour (a long sync then pauses until the oldest requests of \
            the hour age out; the ETA counts it); 409/429 wait Retry-After.

            --dry-run lists and compares only: it fetches no full record and writes nothing to \
            the database (nor creates one), and says how many requests a sync would make. It \
            still signs in, and Nexudus invalidates a refresh token when it issues the next one, so an existing token file is updated with the new \
            token (else the mirror would be signed out); a dry run never creates the token file.

            Examples:
              NEXUDUS_USERNAME=ops@example.com NEXUDUS_PASSWORD=… nexmirror sync
              nexmirror sync --entity coworkers --entity bookings --dry-run
              nexmirror sync --db postgresql://nexmirror@/nexmirror --token-file /etc/nexmirror/nexmirror.nexudus
            """)

    static let kindNames = NexudusKind.all.map(\.name).joined(separator: ", ")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var api: NexudusOptions

    @Option(help: ArgumentHelp("Sync only this kind (repeatable); default all.", valueName: "name"))
    var entity: [String] = []

    @Flag(help: "List and compare only: fetch no full records, write nothing to the database (an existing token file still gets the rotated token).")
    var dryRun = false

    func validate() throws {
        for name in entity where NexudusKind.named(name) == nil {
            throw ValidationError("unknown kind '\(name)'; one of: \(NexudusKind.all.map(\.name).joined(separator: ", "))")
        }
        _ = try api.tokenPath(for: database.location)
    }

    func run() async throws {
        var logger = Logger(label: "nexmirror", factory: StandardErrorLogHandler.init)
        logger.logLevel = .warning
        let tokenPath = try api.tokenPath(for: database.location)
        let reconciler: Reconciler
        if dryRun {
            // Compares with the replica as it stands, read-only; without a database everything
            // listed is new, and none is created.
            let replica = try await database.openHeldVersions()
            let client = try api.client(tokenPath: tokenPath, logger: logger, createsTokenFile: false)
            reconciler = Reconciler(dryRunAgainst: replica, client: client, logger: logger)
        } else {
            let client = try api.client(tokenPath: tokenPath, logger: logger)
            reconciler = Reconciler(store: try await database.openSyncLedger(preparing: true), client: client, logger: logger)
        }
        let client = reconciler.client
        let kinds = entity.isEmpty ? NexudusKind.all : NexudusKind.all.filter { kind in
            entity.contains { NexudusKind.named($0) == kind }
        }
        let bar = Terminal.isTerminal(STDERR_FILENO) ? ProgressLine() : nil
        let clock = ContinuousClock()
        let started = clock.now
        let reports: [KindReport]
        var progress: (@Sendable (SyncProgress) -> Void)?
        if let bar { progress = { bar.show($0) } }
        let dryRun = self.dryRun
        do {
            reports = try await reconciler.run(kinds, progress: progress) { report in
                bar?.clear()
                if let notice = report.notice { print(notice) }
                let planned = report.plannedRequests.map { " [dry run] a sync would make \($0) requests" } ?? ""
                print(report.description + planned)
            }
        } catch {
            bar?.clear()
            throw NexudusCommandError.syncStopped(reason: error.description)
        }
        if !dryRun && entity.isEmpty {
            await recordWebhooks(reconciler: reconciler, registry: WebhookRegistry(client: client), logger: logger)
        }
        let seconds = (clock.now - started).inSeconds
        let requests = await client.requestsSent
        if dryRun {
            // What the sync itself would take: its sign-in, each kind's plan, and for a full
            // sync the webhooks list it reads last.
            let planned = 1 + reports.compactMap(\.plannedRequests).reduce(0, +) + (entity.isEmpty ? 1 : 0)
            let eta = await client.pacer.secondsFor(planned)
            print(String(format: "sync: %d requests in %.1f s; ", requests, seconds)
                + "a sync would make \(planned) requests, about \(ProgressLine.format(eta)) at this pace")
            return
        }
        let predicted = reports.compactMap(\.predictedSeconds).reduce(0, +)
        let actual = reports.compactMap(\.remainingSeconds).reduce(0, +)
        print(String(format: "sync: %d requests in %.1f s; fetch estimate %.1f s, took %.1f s", requests, seconds, predicted, actual))
    }
}

/// One self-rewriting line on standard error: the kind, a bar, requests done and the ETA.
final class ProgressLine: Sendable {
    func show(_ progress: SyncProgress) {
        let width = 30
        let fraction = progress.total > 0 ? min(1, Double(progress.done) / Double(progress.total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        Terminal.write(toStandardError: "\r\(progress.kind) [\(bar)] \(progress.done)/\(progress.total) ETA \(Self.format(progress.etaSeconds))\u{1B}[K")
    }

    func clear() { Terminal.write(toStandardError: "\r\u{1B}[K") }

    static func format(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }
}
