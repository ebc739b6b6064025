import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore
import NexMirrorProjections

/// Every delivery of one entity in log order, what the fold made of it, and the fields that
/// changed from the version held before it (`nexmirror history`).
///
/// The outcomes replay the fold rule of SPEC §4.3 (`FoldVersion`) over this entity's
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
    public static func entityTypes(named name: String) -> [String]? {
        let lowered = name.lowercased()
        for projection in Projections.all where projection.table == lowered {
            if let types = projection.entityTypes { return types.sorted() }
        }
        let known = Set(ActionCatalog.all.compactMap(\.entityType))
        return known.first { $0.lowercased() == lowered }.map { [$0] }
    }

    public init(db: Database, entityTypes: [String], id: Int64) throws {
        self.entityTypes = entityTypes
        self.id = id
        let placeholders = entityTypes.map { _ in "?" }.joined(separator: ", ")
        let rows = try Row.fetchAll(
            db, sql: """
                SELECT seq, received_at, action, source, updated_on, status, error, body, entity_type
                FROM events WHERE entity_id = ? AND entity_type IN (\(placeholders)) ORDER BY seq
                """, arguments: StatementArguments([id] + entityTypes))

        var row: FoldVersion?
        var tombstone: FoldVersion?
        var holder: Int?
        var heldFields: [String: Any]?
        for record in rows {
            let seq: Int64 = record[0]
            let status: String = record[5]
            let body = [UInt8](record[7] as Data)
            let action = ActionCatalog.action(named: record[2] as String)
            var outcome: String
            var fields: [String: Any]?
            var version: FoldVersion?
            if status == "quarantined" {
                outcome = "quarantined: \(record[6] as String? ?? "?")"
            } else if let action, let entityType = record[8] as String? {
                switch Self.decode(body, action: action, entityType: entityType, seq: seq, id: id) {
                case .failure(let reason):
                    outcome = "quarantined: \(reason)"
                case .success(let decoded):
                    fields = decoded.fields
                    version = FoldVersion(updatedOn: decoded.updatedOn, isDelete: action.isDelete, seq: seq)
                    outcome = ""
                }
            } else {
                outcome = "quarantined: unknown action"
            }

            var changes: [Change] = []
            if let version, let action {
                let current = [row, tombstone].compactMap { $0 }.max()
                let wins = current.map { version > $0 } ?? true
                let afterDelete = tombstone != nil && current == tombstone
                if action.isDelete {
                    if tombstone.map({ version > $0 }) ?? true { tombstone = version }
                    if wins {
                        if let holder { entries[holder].outcome = "superseded by seq \(seq)" }
                        holder = entries.count
                        row = nil
                        outcome = "deleted"
                    } else {
                        outcome = afterDelete ? "ignored after a delete (seq \(current!.seq))" : "ignored as older than seq \(current!.seq)"
                    }
                } else {
                    if let previous = heldFields, let fields { changes = Self.changes(from: previous, to: fields) }
                    if wins {
                        if let holder { entries[holder].outcome = "superseded by seq \(seq)" }
                        holder = entries.count
                        row = version
                        heldFields = fields
                        outcome = "the version held"
                    } else {
                        outcome = afterDelete ? "ignored after a delete (seq \(current!.seq))" : "ignored as older than seq \(current!.seq)"
                    }
                }
            }
            entries.append(Entry(
                seq: seq, receivedAt: record[1], action: record[2], source: record[3], updatedOn: record[4],
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
    private static func decode(_ body: [UInt8], action: WebhookAction, entityType: String, seq: Int64, id: Int64) -> Decoding {
        let decoded: DeliveryBody
        do {
            decoded = try DeliveryBody.decode(body, for: action)
        } catch {
            return .failure(error.description)
        }
        let projection = Projections.projection(for: entityType)
        if !action.isDelete {
            let input = FoldInput(
                seq: seq, action: action, entityType: entityType, entityId: id, updatedOn: decoded.updatedOn,
                dto: decoded.dto, dtoJSON: "")
            do {
                _ = try projection.project(input)
            } catch {
                return .failure("\(projection.name): \(error.description)")
            }
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
