import Foundation
import NexMirrorCore
import NexMirrorProjections

/// Everything `status`, `GET /api/status` and the dashboard show, read in one transaction so the
/// numbers agree with each other. The store gathers it; the CLI and the server only render it.
/// It holds counts, times, action names and errors: no member data, no bodies, no secrets.
public struct StatusReport: Codable, Sendable {
    public var database: String
    public var generatedAt: String
    public var log: Log
    public var tables: [String: Int]
    public var actions: [ActionActivity]
    /// Webhook deliveries per hour, the last 168 hours, oldest first.
    public var hourly: [HourBucket]
    public var quarantine: Quarantine
    public var projections: [ProjectionState]
    public var rejections: Rejections
    public var sync: [SyncKind]
    /// Subjects erased, deliveries rewritten, coworkers deleted in Nexudus not erased yet.
    public var erasures = ErasureFigures()
    public var silent: [String]
    public var disabledInNexudus: [String]
    /// One line per problem, as `status --check` prints them.
    public var problems: [String]
    public var hint: String?

    package static let newestQuarantined = 5
    /// A delivery not folded after this long is a lag problem, not just a fold in progress.
    package static let lagGrace: Double = 60

    /// An empty report for a backend's gatherer to fill in (every field is a `var`).
    package init(database: String, generatedAt: String) {
        self.database = database
        self.generatedAt = generatedAt
        log = Log(deliveries: 0, lastSeq: 0, quarantined: 0, fileBytes: 0, walBytes: 0)
        tables = [:]
        actions = []
        hourly = []
        quarantine = Quarantine(total: 0, last24h: 0, newest: [])
        projections = []
        rejections = Rejections(
            total: 0, kept: 0, last24h: 0, lastAt: nil, lastReason: nil, sinceLastVerified: 0, lastVerifiedAt: nil)
        sync = []
        silent = []
        disabledInNexudus = []
        problems = []
        hint = nil
    }

    /// The replica's tables, in the projections' order, then the log's bookkeeping.
    public static var tableNames: [String] {
        var names: [String] = []
        for projection in Projections.all {
            for table in projection.ownedTables where !names.contains(table) { names.append(table) }
        }
        return names + ["members", "tombstones"]
    }

    /// The report as `status --format json` and `GET /api/status` print it.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }
}

/// A store that can gather the status report (the dashboard and `/api/status` ask for it).
public protocol StatusReporting: Sendable {
    func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport
}
