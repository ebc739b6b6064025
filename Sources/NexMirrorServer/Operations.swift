import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import NexMirrorCore
import NexMirrorStore

/// The operator's routes: the dashboard (`GET /`), `GET /api/status` and `GET /metrics`. They
/// live on the main listener, or on the admin one when `--admin-port` is given.
func addOperationsRoutes(
    to router: Router<ReceiverRequestContext>, configuration: ReceiverConfiguration, store: any EventStore,
    metrics: ReceiverMetrics, logger: Logger
) {
    let reporter = store as? any StatusReporting
    let silence = configuration.silence

    router.get("/") { _, _ -> Response in
        guard let reporter else { return unavailable("the dashboard needs a store that reports its status") }
        let report = try await reporter.statusReport(now: .now, silence: silence)
        return Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: Dashboard.render(report))))
    }
    router.get("/api/status") { _, _ -> Response in
        guard let reporter else { return unavailable("this store does not report its status") }
        let report = try await reporter.statusReport(now: .now, silence: silence)
        var body = try report.json()
        body.append(UInt8(ascii: "\n"))
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
    router.get("/metrics") { _, _ -> Response in
        do {
            let progress = try await store.progress()
            metrics.progress(lastSeq: progress.lastSeq, checkpoint: progress.checkpoint)
        } catch {
            logger.error("log progress for /metrics failed", metadata: ["error": "\(error)"])
        }
        var text = metrics.render()
        if let reporter {
            do {
                text += OperationsMetrics.render(try await reporter.statusReport(now: .now, silence: silence))
            } catch {
                logger.error("status for /metrics failed", metadata: ["error": "\(error)"])
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

private func unavailable(_ message: String) -> Response {
    Response(
        status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
}

/// Gauges computed from the status report at scrape time, written by swift-prometheus from a
/// registry of the scrape's own (an action or kind that disappears leaves no stale sample).
enum OperationsMetrics {
    static func render(_ report: StatusReport) -> String {
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        func family(_ name: String, _ help: String, _ samples: [(label: String, value: String, sample: Double)]) {
            for (label, value, sample) in samples {
                registry.makeGauge(descriptor: gauge(name, help), labels: [(label, value)]).set(sample)
            }
        }
        family(
            "nexmirror_action_last_delivery_timestamp_seconds", "Unix time of the action's last webhook delivery",
            report.actions.compactMap { action in
                action.lastReceivedAt.flatMap { Timestamp(parsing: $0) }.map {
                    ("action", action.action, $0.secondsSince1970)
                }
            })
        family(
            "nexmirror_action_silent",
            "1 when an action received before got nothing for longer than its silence threshold",
            report.actions.map { ("action", $0.action, $0.state == .silent ? 1 : 0) })
        family(
            "nexmirror_action_silence_threshold_seconds",
            "Silence threshold per action: --silence-after, or learned from its own history",
            report.actions.map { ("action", $0.action, $0.silenceThresholdSeconds) })
        family(
            "nexmirror_webhook_disabled", "1 when every webhook Nexudus lists for the action is inactive",
            report.actions.map { ("action", $0.action, $0.state == .disabled ? 1 : 0) })
        family(
            "nexmirror_sync_drift", "What the last sync found that webhooks had not delivered (new+changed+deleted)",
            report.sync.map { ("kind", $0.kind, Double($0.drift)) })
        family(
            "nexmirror_sync_last_finished_timestamp_seconds", "Unix time the last sync of the kind completed",
            report.sync.compactMap { kind in
                kind.finishedAt.flatMap { Timestamp(parsing: $0) }.map {
                    ("kind", kind.kind, $0.secondsSince1970)
                }
            })
        family(
            "nexmirror_sync_failing", "1 when the last sync of the kind failed",
            report.sync.map { ("kind", $0.kind, $0.error == nil ? 0 : 1) })
        registry.makeGauge(descriptor: gauge("nexmirror_problems", "Problems `nexmirror status --check` reports"))
            .set(Double(report.problems.count))
        return registry.emitToString()
    }
}

/// The admin listener, when `--admin-port` asks for one: only the operator's routes.
func adminApplication(
    configuration: ReceiverConfiguration, store: any EventStore, metrics: ReceiverMetrics, logger: Logger,
    onRunning: @escaping @Sendable (Int) async -> Void
) -> [any Service] {
    guard let port = configuration.adminPort else { return [] }
    let router = Router(context: ReceiverRequestContext.self)
    addOperationsRoutes(to: router, configuration: configuration, store: store, metrics: metrics, logger: logger)
    return [Application(
        router: router,
        configuration: .init(address: .hostname(configuration.adminHost, port: port), serverName: "nexmirror-admin"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
        logger: logger)]
}
