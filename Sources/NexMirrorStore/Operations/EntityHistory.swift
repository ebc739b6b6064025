import Foundation
import NexMirrorCore
import NexMirrorProjections

/// Every delivery of one entity in log order, what the fold made of it, and the fields that
/// changed from the version held before it (`nexmirror history`).
///
/// The outcomes replay the fold rule of SPEC §4.3 (`FoldRule`) over this entity's
/// deliveries in log order, so they say what happened when each one arrived and what became of
/// it later: `the version held` (by the replica now), `superseded by seq N`, `ignored as older
/// than seq N`, `deleted`, `ignored after a delete (seq N)`, `quarantined: reason`.
public struct EntityHistory: Sendable {
    public struct Change: Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let before: String
        public let after: String
        public var description: String { "\(field): \(before) → \(after)" }
    }

    public struct Entry: Sendable {
        public let seq: Int64
        public let receivedAt: String
        public let action: String
        public let source: String
        public let updatedOn: String?
        public internal(set) var outcome: String
        public let changes: [Change]
    }

    public let entityTypes: [String]
    public let id: Int64
    public private(set) var entries: [Entry] = []

    /// The entity types an ENTITY argument names: a replica table (`coworkers`) or an entity type
    /// (`Coworker`, `Tariff`), any case. Nil when it names neither.
    public static func entityTypes(named name: String) -> [String]? { EntityTypes.named(name) }

    /// Why `history` printed nothing.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownEntity(String)
        case noDelivery(types: [String], id: Int64)

        public var description: String {
            switch self {
            case .unknownEntity(let entity):
                "unknown entity '\(entity)'; give a table (coworkers, bookings, invoices, teams, checkins, "
                    + "proposals, contracts) or an entity type (Coworker, Tariff, …)"
            case .noDelivery(let types, let id): "no delivery of \(types.joined(separator: "/")) \(id) in the log"
            }
        }
    }

    /// A delivery of the entity as the log holds it; a store reads them in `seq` order.
    public struct Record: Sendable {
        public let seq: Int64
        public let receivedAt: String
        public let action: String
        public let source: String
        public let updatedOn: String?
        public let status: String
        public let error: String?
        public let body: [UInt8]
        public let entityType: String?
        /// `api-404` marks the API's 404 as a delete (see `APINotFound`).
        public let signature: String?

        public init(
            seq: Int64, receivedAt: String, action: String, source: String, updatedOn: String?, status: String,
            error: String?, body: [UInt8], entityType: String?, signature: String? = nil
        ) {
            self.seq = seq
            self.receivedAt = receivedAt
            self.action = action
            self.source = source
            self.updatedOn = updatedOn
            self.status = status
            self.error = error
            self.body = body
            self.entityType = entityType
            self.signature = signature
        }
    }

    /// Replays the entity's deliveries (`records`, in `seq` order).
    public init(entityTypes: [String], id: Int64, records rows: [Record]) {
        self.entityTypes = entityTypes
        self.id = id

        var row: FoldVersion?
        var tombstone: FoldVersion?
        var holder: Int?
        var heldFields: [String: Any]?
        for record in rows {
            let seq = record.seq
            let status = record.status
            let body = record.body
            let action = ActionCatalog.action(named: record.action)
            let isDelete = action.map { APINotFound.deletes(action: $0, signature: record.signature) } ?? false
            var outcome: String
            var fields: [String: Any]?
            var version: FoldVersion?
            if status == DeliveryStatus.quarantined.rawValue {
                outcome = "quarantined: \(record.error ?? "?")"
            } else if let action, let entityType = record.entityType {
                switch Self.decode(body, action: action, signature: record.signature, entityType: entityType, seq: seq, id: id) {
                case .failure(let reason):
                    outcome = "quarantined: \(reason)"
                case .success(let decoded):
                    fields = decoded.fields
                    version = FoldVersion(updatedOn: decoded.updatedOn, isDelete: isDelete, seq: seq)
                    outcome = ""
                }
            } else {
                outcome = "quarantined: unknown action"
            }

            var changes: [Change] = []
            if let version {
                let held = FoldRule.held(row: row, tombstone: tombstone)
                let wins = FoldRule.wins(version, row: row, tombstone: tombstone)
                let afterDelete = tombstone != nil && held == tombstone
                let fold = FoldRule.changes(incoming: version, row: row, tombstone: tombstone)
                if fold.contains(.writeTombstone) { tombstone = version }
                if fold.contains(.deleteRow) { row = nil }
                if fold.contains(.upsertRow) { row = version }
                if !isDelete, let previous = heldFields, let fields { changes = Self.changes(from: previous, to: fields) }
                if wins {
                    if let holder { entries[holder].outcome = "superseded by seq \(seq)" }
                    holder = entries.count
                    if isDelete {
                        outcome = "deleted"
                    } else {
                        heldFields = fields
                        outcome = "the version held"
                    }
                } else {
                    outcome = afterDelete ? "ignored after a delete (seq \(held!.seq))" : "ignored as older than seq \(held!.seq)"
                }
            }
            entries.append(Entry(
                seq: seq, receivedAt: record.receivedAt, action: record.action, source: record.source, updatedOn: record.updatedOn,
                outcome: outcome, changes: changes))
        }
    }

    private struct Decoded {
        let updatedOn: String?
        let fields: [String: Any]
    }

    private enum Decoding {
        case success(Decoded)
        case failure(String)
    }

    /// Decodes a delivery as the fold would: a body the fold cannot project is quarantined
    /// there, so it is here too (even before the projector has reached it).
    private static func decode(
        _ body: [UInt8], action: WebhookAction, signature: String?, entityType: String, seq: Int64, id: Int64
    ) -> Decoding {
        let decoded: DeliveryBody
        do {
            decoded = try DeliveryBody.decode(body, for: action)
        } catch {
            return .failure(error.description)
        }
        if case .quarantine(let reason) = FoldPreparation.of(
            seq: seq, action: action.name, entityType: entityType, body: body, status: DeliveryStatus.ok.rawValue, signature: signature)
        {
            return .failure(reason)
        }
        let json = Data(body[decoded.dtoRange])
        let fields = (try? JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
        return .success(Decoded(updatedOn: decoded.updatedOn?.description, fields: fields))
    }

    /// Top-level fields whose values differ, compared as JSON values (a nested object or an
    /// array that changed is one change). `UpdatedOn` is left out: it has its own column.
    static func changes(from before: [String: Any], to after: [String: Any]) -> [Change] {
        let names = Set(before.keys).union(after.keys).subtracting(["UpdatedOn"]).sorted()
        return names.compactMap { name in
            let old = canonical(before[name])
            let new = canonical(after[name])
            return old == new ? nil : Change(field: name, before: display(old), after: display(new))
        }
    }

    private static func canonical(_ value: Any?) -> String {
        guard let value else { return "(absent)" }
        if let text = value as? String { return "\"" + text }
        guard let data = try? JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Strings without quotes, everything else as compact JSON, long values cut.
    private static func display(_ canonical: String) -> String {
        let text = canonical.hasPrefix("\"") ? String(canonical.dropFirst()) : canonical
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }
}
