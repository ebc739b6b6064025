import Foundation
import NexMirrorCore
import NexMirrorProjections

/// What the report concludes from the figures: each action's silence state, the problems
/// `status --check` prints, and the hint for rejections.
extension StatusReport {
    /// Projected actions: those whose entity a typed table (not `entities`) folds.
    package static func isProjected(_ action: WebhookAction) -> Bool {
        guard let type = action.entityType else { return false }
        return Projections.projection(for: type).name != "entities"
    }

    /// What a store reads from its log about one action, for the activity table.
    package struct ActionFigures: Sendable {
        /// Deliveries of the action from any source.
        package var deliveries = 0
        package var webhooks24h = 0
        package var webhooks7d = 0
        package var lastWebhookAt: String?
        /// Webhook deliveries inside the silence rule's learning window, and the longest gap
        /// between two consecutive ones there, in seconds.
        package var webhooksInWindow = 0
        package var longestGap: Double?

        package init() {}
    }

    /// The activity table: every action received, and every action a typed table folds, with
    /// its silence state.
    package static func activity(
        _ figures: [String: ActionFigures], now: Timestamp, silence: SilenceRule, disabled: Set<String>
    ) -> [ActionActivity] {
        var result: [ActionActivity] = []
        for action in ActionCatalog.all where figures[action.name] != nil || isProjected(action) {
            let seen = figures[action.name] ?? ActionFigures()
            let threshold = silence.threshold(
                deliveriesInWindow: seen.webhooksInWindow, longestGap: seen.longestGap)
            let state: ActivityState
            if disabled.contains(action.name) {
                state = .disabled
            } else if let last = seen.lastWebhookAt.flatMap({ Timestamp(parsing: $0) }) {
                state = SilenceRule.isSilent(lastReceivedAt: last, now: now, threshold: threshold.seconds) ? .silent : .ok
            } else {
                state = .never
            }
            result.append(ActionActivity(
                action: action.name, actionId: action.id,
                projection: action.entityType.map { Projections.projection(for: $0).name } ?? "-",
                deliveries: seen.deliveries, webhooks24h: seen.webhooks24h, webhooks7d: seen.webhooks7d,
                lastReceivedAt: seen.lastWebhookAt, state: state, silenceThresholdSeconds: threshold.seconds,
                thresholdSource: threshold.source))
        }
        return result
    }

    package static func problems(
        actions: [ActionActivity], projections: [ProjectionState], oldestWaiting: String?, now: Timestamp,
        quarantine: Quarantine, rejections: Rejections, hint: String?, sync: [SyncKind]
    ) -> [String] {
        var problems: [String] = []
        for action in actions where action.state == .silent {
            let last = action.lastReceivedAt.flatMap { Timestamp(parsing: $0) }.map { seconds(from: $0, to: now) } ?? 0
            problems.append(
                "silent: \(action.action) received nothing for \(HumanDuration.describe(last)) "
                    + "(threshold \(HumanDuration.describe(action.silenceThresholdSeconds)), \(action.thresholdSource))")
        }
        for action in actions where action.state == .disabled {
            problems.append(
                "disabled in Nexudus: every webhook for \(action.action) is inactive; re-enable it "
                    + "(nexmirror webhooks setup --url BASE)")
        }
        let waiting = oldestWaiting.flatMap { Timestamp(parsing: $0) }.map { seconds(from: $0, to: now) } ?? 0
        if waiting > lagGrace {
            for projection in projections where projection.lag > 0 {
                problems.append(
                    "projection lag: \(projection.name) is \(projection.lag) deliver\(projection.lag == 1 ? "y" : "ies") behind, "
                        + "the oldest waiting \(HumanDuration.describe(waiting)); is `nexmirror serve` running?")
            }
        }
        if quarantine.last24h > 0, let newest = quarantine.newest.first {
            problems.append(
                "quarantined: \(quarantine.last24h) in the last 24 h, newest seq \(newest.seq) \(newest.action): "
                    + "\(newest.error ?? "?") (nexmirror events --quarantined)")
        }
        if rejections.last24h > 0 {
            problems.append(
                "rejected: \(rejections.last24h) signature rejection\(rejections.last24h == 1 ? "" : "s") in the last 24 h"
                    + (hint.map { "; \($0)" } ?? ""))
        }
        for kind in sync where kind.error != nil {
            problems.append("sync failing: \(kind.kind): \(kind.error!)")
        }
        return problems
    }

    package static func seconds(from start: Timestamp, to end: Timestamp) -> Double {
        end.secondsSince1970 - start.secondsSince1970
    }

    package static func order(of projection: String) -> Int {
        Projections.all.firstIndex { $0.name == projection } ?? Int.max
    }

    /// Rejections with no verified delivery since mean Nexudus and nexmirror disagree on the
    /// secret (or Nexudus sends none), which a rejection count alone does not say.
    package static func hint(_ rejections: Rejections) -> String? {
        guard rejections.sinceLastVerified > 0 else { return nil }
        let count = "\(rejections.sinceLastVerified) \(rejections.sinceLastVerified == 1 ? "delivery was" : "deliveries were")"
        let since = rejections.lastVerifiedAt.map { "since the last verified one (\($0))" } ?? "and none was ever verified"
        if rejections.lastReason == "missing-header" {
            return "\(count) rejected without a signature \(since): set the secret in Nexudus "
                + "(Settings › Integrations) to the content of nexmirror.secret"
        }
        return "\(count) rejected for their signature \(since): the secret in Nexudus probably differs "
            + "from nexmirror's; compare them, and check one body with `nexmirror verify`"
    }
}
