import NexMirrorCore
import Testing
@testable import NexMirrorStore

/// The status report's activity table from a store's per-action figures, without a database.
@Suite struct StatusActivityTests {
    @Test func eachActionGetsItsSilenceState() throws {
        let now = try #require(Timestamp(parsing: "2026-03-20T12:00:00Z"))
        var figures: [String: StatusReport.ActionFigures] = [:]
        var quiet = StatusReport.ActionFigures()
        quiet.deliveries = 3
        quiet.lastWebhookAt = "2026-03-12T12:00:00.0000000Z"  // 8 days: over the 7-day default
        quiet.webhooksInWindow = 1
        figures["CoworkerCreate"] = quiet
        var busy = StatusReport.ActionFigures()
        busy.deliveries = 9
        busy.webhooks24h = 2
        busy.lastWebhookAt = "2026-03-20T11:00:00.0000000Z"
        figures["BookingCreate"] = busy
        let activity = StatusReport.activity(figures, now: now, silence: SilenceRule(), disabled: ["CoworkerUpdate"])
        let states = Dictionary(uniqueKeysWithValues: activity.map { ($0.action, $0.state.rawValue) })
        #expect(states["CoworkerCreate"] == "silent")
        #expect(states["BookingCreate"] == "ok")
        #expect(states["TeamCreated"] == "never")
        #expect(states["CoworkerUpdate"] == "disabled in Nexudus")
        #expect(states["BlogPostCreate"] == nil)  // never received, folded by no typed table
        #expect(activity.first { $0.action == "BookingCreate" }?.webhooks24h == 2)
    }
}
