import Logging
import NexMirrorCore
import NexMirrorStore

/// `serve --sync-every`: a full sync at start and then every `interval`, in the background (a
/// `PeriodicService` runs it). Ingest never waits on it (its appends share the log's writer like
/// any batch); a failed run is logged and left in `sync_state.error`, where `status` shows it,
/// and the next run tries again.
public struct AutomaticSync: Sendable {
    let reconciler: Reconciler
    let registry: WebhookRegistry
    public let interval: Duration
    let logger: Logger

    public init(reconciler: Reconciler, interval: Duration, logger: Logger) {
        self.reconciler = reconciler
        self.registry = WebhookRegistry(client: reconciler.client)
        self.interval = interval
        self.logger = logger
    }

    public func runOnce() async {
        logger.info("sync started")
        do {
            _ = try await reconciler.run(NexudusKind.all) { report in
                if let notice = report.notice { logger.notice("sync \(notice)") }
                logger.info("sync \(report)")
            }
            await recordWebhooks(reconciler: reconciler, registry: registry, logger: logger)
            logger.info("sync finished")
        } catch {
            if Task.isCancelled { return }
            logger.error("sync failed; the next run continues where this one stopped", metadata: ["error": "\(error)"])
        }
    }
}

/// After a full sync, the account's webhooks as listed, for "disabled in Nexudus". A user
/// without the WebHook-List role still syncs, with a warning.
public func recordWebhooks(reconciler: Reconciler, registry: WebhookRegistry, logger: Logger) async {
    do {
        guard let store = reconciler.store else { return }
        let webhooks = try await registry.webhooks()
        try await store.replaceWebhooks(webhooks.map(\.record), seenAt: .now)
    } catch {
        logger.warning("cannot list the account's webhooks", metadata: ["error": "\(error)"])
    }
}
