import NexMirrorCore

/// Why a subject was erased: `forget` by an operator, the server's own erasure of a coworker
/// Nexudus deleted, or a ledger replayed onto a restored backup.
public enum ErasureOrigin: String, Sendable, Codable, CaseIterable {
    case forget, deleted, replay
}

/// What an erasure did to (or, with `--dry-run`, would do to) one subject's data.
public struct SubjectErasure: Sendable, Equatable {
    public let coworkerId: Int64
    /// Deliveries rewritten, per kind (entity type, or action for one without).
    public var deliveries: [String: Int] = [:]
    /// Replica rows refolded, per table.
    public var rows: [String: Int] = [:]
    /// The coworker still has a row in the replica (not deleted in Nexudus).
    public var stillLive = false
    /// The subject was in the ledger before.
    public var alreadyErased = false

    public init(coworkerId: Int64) { self.coworkerId = coworkerId }

    public var deliveryCount: Int { deliveries.values.reduce(0, +) }
    public var rowCount: Int { rows.values.reduce(0, +) }
}

/// One line of the erasure ledger: no personal data, so it may be printed, exported and kept
/// beside backups.
public struct ErasedSubject: Sendable, Equatable, Codable {
    public let coworkerId: Int64
    public let erasedAt: String
    public let reason: String?
    public let origin: ErasureOrigin

    public init(coworkerId: Int64, erasedAt: String, reason: String?, origin: ErasureOrigin) {
        self.coworkerId = coworkerId
        self.erasedAt = erasedAt
        self.reason = reason
        self.origin = origin
    }

    public static let columns = ["coworker_id", "erased_at", "reason", "origin"]
    public var values: [SQLValue] { [.integer(coworkerId), .text(erasedAt), reason.map(SQLValue.text) ?? .null, .text(origin.rawValue)] }
}

/// Erasures done and due, for `status` and the dashboard.
public struct ErasureFigures: Sendable, Equatable, Codable {
    public var subjectsErased = 0
    public var deliveriesErased = 0
    /// Coworkers deleted in Nexudus and not erased yet.
    public var pending = 0
    /// Of those, the ones whose delay has passed (the server erases them on its next round).
    public var due = 0

    public init() {}
}

/// A store that can erase subjects (SPEC §10), on every backend.
public protocol ErasingStore: Sendable {
    /// Erases each subject in turn; with `dryRun` nothing is written.
    func forget(_ ids: [Int64], reason: String?, origin: ErasureOrigin, dryRun: Bool) async throws -> [SubjectErasure]
    /// The ledger, oldest first.
    func erasureLedger() async throws -> [ErasedSubject]
    /// Coworkers whose delete was logged before `deletedBefore` and who are not erased yet.
    func erasableDeletedCoworkers(deletedBefore: Timestamp) async throws -> [Int64]
    func erasureFigures(deletedBefore: Timestamp?) async throws -> ErasureFigures
}

extension NewDelivery {
    /// The body to store for a delivery that names erased subjects, already erased.
    public func erased(for subjects: Set<Int64>) -> ErasedBody? {
        BodyEraser.erase(body, action: action, entityType: entityType, subjects: ErasureSubjects(ids: subjects))
    }
}
