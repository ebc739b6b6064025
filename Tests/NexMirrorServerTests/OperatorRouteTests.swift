import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NexMirrorCore
import NexMirrorServer
import NexMirrorStore
import NexudusFixtures
import NIOCore
import Testing

/// `/healthz`, `/readyz`, `/metrics`, the dashboard and `/api/status`, on the main listener or
/// on the admin one (`--admin-port`), in-process.
@Suite struct OperatorRouteTests {
    /// Rows another part of nexmirror (sync, webhooks) writes, inserted here by hand.
    static let syncAndWebhooks = NexudusFixtures.syncAndWebhookRows

    @Test func healthReadinessAndMetrics() async throws {
        let receiver = try Receiver()
        let (health, ready, metrics) = try await receiver.test { client in
            let health = try await client.get("/healthz")
            let ready = try await client.get("/readyz")
            #expect(try await client.deliver("BookingCreate").status == .ok)
            var metrics = ""
            // The background fold catches up; the gauges are read at scrape time.
            let caughtUp = try await eventually(within: backgroundWork) {
                metrics = try await client.get("/metrics").text
                return metrics.contains("nexmirror_projection_lag_deliveries 0")
            }
            #expect(caughtUp, "\(metrics)")
            return (health, ready, metrics)
        }
        #expect(health.status == .ok)
        #expect(health.json["status"] as? String == "ok")
        #expect(ready.status == .ok)
        #expect(ready.json["status"] as? String == "ready")
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="BookingCreate",outcome="accepted"} 1"#))
        #expect(metrics.contains("nexmirror_ingest_duration_seconds_bucket"))
        #expect(metrics.contains("nexmirror_ingest_duration_seconds_count 1"))
        #expect(metrics.contains("nexmirror_event_log_deliveries 1"))
        #expect(metrics.contains("nexmirror_projection_checkpoint 1"))
        #expect(metrics.contains("nexmirror_problems 0"))
    }

    @Test func duplicatesAreCountedApart() async throws {
        let receiver = try Receiver()
        let metrics = try await receiver.test { client in
            for _ in 0..<3 { _ = try await client.deliver("TeamCreated") }
            return try await client.get("/metrics").text
        }
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="TeamCreated",outcome="accepted"} 1"#))
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="TeamCreated",outcome="duplicate"} 2"#))
    }

    @Test func withoutAnAdminPortTheMainListenerServesTheDashboardAndStatus() async throws {
        let receiver = try Receiver()
        let (page, status) = try await receiver.test { client in
            #expect(try await client.deliver("CoworkerCreate").status == .ok)
            return (try await client.get("/"), try await client.get("/api/status"))
        }
        #expect(page.status == .ok)
        #expect(page.headers[.contentType] == "text/html; charset=utf-8")
        #expect(page.headers[.cacheControl] == "no-store")
        #expect(page.text.contains("<meta http-equiv=\"refresh\""))
        #expect(page.text.contains("<td>CoworkerCreate</td>"))
        #expect(status.status == .ok)
        #expect(status.headers[.contentType] == "application/json")
        let actions = try #require(status.json["actions"] as? [[String: Any]])
        #expect(actions.first { $0["action"] as? String == "CoworkerCreate" }?["webhooks24h"] as? Int == 1)
        #expect((status.json["hourly"] as? [[String: Any]])?.count == 168)
    }

    @Test func apiStatusAndMetricsShowSyncAndWebhookProblems() async throws {
        let receiver = try Receiver()
        try await receiver.store.pool.write { db in try db.execute(sql: Self.syncAndWebhooks) }
        let (answer, metrics) = try await receiver.test { client in
            (try await client.get("/api/status"), try await client.get("/metrics").text)
        }
        let status = answer.json
        let actions = try #require(status["actions"] as? [[String: Any]])
        #expect(actions.first { $0["action"] as? String == "TeamCreated" }?["state"] as? String == "disabled in Nexudus")
        #expect((status["sync"] as? [[String: Any]])?.first { $0["kind"] as? String == "coworkers" }?["drift"] as? Int == 7)
        #expect(metrics.contains(#"nexmirror_sync_drift{kind="coworkers"} 7"#))
        #expect(metrics.contains(#"nexmirror_sync_failing{kind="bookings"} 1"#))
        #expect(metrics.contains(#"nexmirror_webhook_disabled{action="TeamCreated"} 1"#))
        #expect(metrics.contains("nexmirror_problems 2"))
    }

    @Test func theAdminListenerTakesTheOperatorRoutes() async throws {
        let receiver = try Receiver {
            $0.adminPort = 0
            $0.silence = SilenceRule(fixed: 1)
        }
        let adminPort = AdminPort()
        try await receiver.test(.live, adminPort: adminPort) { client in
            #expect(try await client.deliver("CoworkerCreate").status == .ok)
            for route in ["/", "/api/status", "/metrics"] {
                #expect(try await client.get(route).status == .notFound, "\(route) on the main port")
            }
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/readyz").status == .ok)

            let admin = TestClient(host: "127.0.0.1", port: try await adminPort.value)
            admin.connect()
            for route in ["/", "/api/status", "/metrics"] {
                #expect(try await admin.get(route).status == .ok, "\(route) on the admin port")
            }
            #expect(try await admin.get("/webhooks/CoworkerCreate").status == .notFound)
            var metrics = ""
            // Silent once a second has passed without a delivery (--silence-after 1s).
            let silent = try await eventually(within: backgroundWork) {
                metrics = String(buffer: try await admin.get("/metrics").body ?? ByteBuffer())
                return metrics.contains(#"nexmirror_action_silent{action="CoworkerCreate"} 1"#)
            }
            #expect(silent, "\(metrics)")
            #expect(metrics.contains(#"nexmirror_action_silent{action="BookingCreate"} 0"#))
            #expect(metrics.contains(#"nexmirror_action_last_delivery_timestamp_seconds{action="CoworkerCreate"} 1"#))
            #expect(metrics.contains(#"nexmirror_action_silence_threshold_seconds{action="CoworkerCreate"} 1"#))
            #expect(metrics.contains(#"nexmirror_deliveries_total{action="CoworkerCreate",outcome="accepted"} 1"#))
            try await admin.shutdown()
        }
    }
}

/// `serve --trusted-proxy`: where the address kept with a rejected signature comes from. On a
/// real loopback listener (`.live`), since the peer's address is what is checked.
@Suite struct TrustedProxyRouteTests {
    /// Sends one badly signed delivery claiming to be forwarded for 203.0.113.9 and returns the
    /// address recorded with its rejection.
    private func recordedAddress(trusting proxies: [String]) async throws -> String? {
        let receiver = try Receiver { $0.trustedProxies = try TrustedProxies(proxies) }
        return try await receiver.test(.live) { client in
            let answer = try await client.post(
                "/webhooks/BookingCreate", body: NexudusFixtures.body("BookingCreate"),
                headers: [.nexudusSignature: String(repeating: "0", count: 64), .forwardedFor: "198.51.100.1, 203.0.113.9"])
            #expect(answer.status == .unauthorized)
            var recorded: [String?] = []
            let found = try await eventually(within: backgroundWork) {
                recorded = try receiver.strings("SELECT remote_address FROM rejections")
                return !recorded.isEmpty
            }
            #expect(found, "no rejection recorded")
            return recorded.first ?? nil
        }
    }

    /// The test client connects to `localhost`, which may be either loopback address.
    static let loopback: Set<String?> = ["127.0.0.1", "::1"]

    @Test func withoutTrustedProxyTheForwardedHeaderIsIgnored() async throws {
        #expect(Self.loopback.contains(try await recordedAddress(trusting: [])))
    }

    @Test func fromATrustedProxyTheRightMostForwardedAddressIsRecorded() async throws {
        #expect(try await recordedAddress(trusting: ["127.0.0.1", "::1"]) == "203.0.113.9")
    }

    @Test func fromAnotherPeerTheForwardedHeaderIsIgnored() async throws {
        #expect(Self.loopback.contains(try await recordedAddress(trusting: ["10.0.0.0/8"])))
    }
}
