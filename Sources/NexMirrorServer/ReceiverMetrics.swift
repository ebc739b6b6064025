import NexMirrorCore
import Prometheus
import Synchronization

/// The receiver's Prometheus metrics, in a registry of its own (no process-wide bootstrap, so
/// several receivers can live in one test process).
public final class ReceiverMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let ingestLatency: DurationHistogram
    private let logSize: Gauge
    private let projectionLag: Gauge
    private let checkpoint: Gauge
    /// The registry builds a metric name and looks labels up on every `makeCounter`; a delivery
    /// only needs its counter.
    private let deliveryCounters = Mutex<[DeliveryKey: Counter]>([:])

    private struct DeliveryKey: Hashable {
        let action: String
        let outcome: DeliveryOutcome
    }

    public init() {
        ingestLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "nexmirror", metricName: "ingest_duration", unitName: "seconds",
                helpText: "Time from request to durable commit of accepted deliveries"),
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)])
        logSize = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "nexmirror", metricName: "event_log_deliveries", unitName: "",
            helpText: "Highest log position (deliveries appended)"))
        projectionLag = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "nexmirror", metricName: "projection_lag", unitName: "deliveries",
            helpText: "Deliveries in the log not yet folded into the replica"))
        checkpoint = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "nexmirror", metricName: "projection_checkpoint", unitName: "",
            helpText: "Lowest log position folded by every projection"))
    }

    /// Counts one delivery by action and outcome.
    public func delivery(action: String, outcome: DeliveryOutcome) {
        let key = DeliveryKey(action: action, outcome: outcome)
        let counter = deliveryCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "nexmirror", metricName: "deliveries", unitName: "total",
                    helpText: "Webhook deliveries by action and outcome"),
                labels: [("action", action), ("outcome", outcome.rawValue)])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    public func ingested(after duration: Duration) { ingestLatency.record(duration) }

    public func progress(lastSeq: Int64, checkpoint: Int64) {
        logSize.set(Double(lastSeq))
        self.checkpoint.set(Double(checkpoint))
        projectionLag.set(Double(max(0, lastSeq - checkpoint)))
    }

    public func render() -> String { registry.emitToString() }
}
