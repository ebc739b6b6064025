import Foundation
import NexMirrorCore
import NexMirrorStore
import NexudusFixtures

/// Histories of creates, updates and deletes for a handful of entities, rendered as Json.NET
/// bodies with every date form Nexudus uses.
package struct History {
    package struct Entity {
        package let type: String
        package let id: Int64
        package let template: String
        package let actions: (create: String, update: String, delete: String)
        package let field: String
    }

    package static let entities: [Entity] = [
        Entity(type: "Coworker", id: 1_419_000_582, template: "CoworkerCreate",
               actions: ("CoworkerCreate", "CoworkerUpdate", "CoworkerDelete"), field: "FullName"),
        Entity(type: "Coworker", id: 1_419_000_583, template: "CoworkerCreate",
               actions: ("CoworkerCreate", "CoworkerUpdate", "CoworkerDelete"), field: "FullName"),
        Entity(type: "Booking", id: 1_419_005_644, template: "BookingCreate",
               actions: ("BookingCreate", "BookingUpdate", "BookingDelete"), field: "ResourceName"),
        Entity(type: "CoworkerInvoice", id: 1_419_044_866, template: "CoworkerInvoicePaid",
               actions: ("CoworkerInvoiceCreate", "CoworkerInvoicePaid", "CoworkerInvoiceDelete"), field: "InvoiceNumber"),
        Entity(type: "Team", id: 1_419_021_592, template: "TeamUpdated",
               actions: ("TeamCreated", "TeamUpdated", "TeamDeleted"), field: "Name"),
        Entity(type: "Tariff", id: 1_400_000_001, template: "CalendarEventCreate",
               actions: ("TariffCreate", "TariffUpdate", "TariffDelete"), field: "Name"),
    ]

    /// Each gene picks an entity, a change, a date form and a few quirks; its position orders
    /// the versions in time, so versions of one entity never share an `UpdatedOn` except where a
    /// delete is made to tie with the version before it.
    package static func deliveries(genes: [Int]) -> [NewDelivery] {
        let base = Timestamp(parsing: "2026-03-02T08:00:00Z")!.ticks
        var lastTicks: [Int64: Int64] = [:]
        return genes.enumerated().map { index, gene in
            let entity = entities[gene % entities.count]
            let change = gene / entities.count % 4  // 0 create, 1–2 update, 3 delete
            let form = gene / (entities.count * 4) % 4
            let quirk = gene / (entities.count * 16) % 4
            var ticks = base + Int64(index) * 61 * Timestamp.ticksPerSecond + Int64(gene % 9_999_999)
            if change == 3, quirk == 1, let previous = lastTicks[entity.id] { ticks = previous }
            lastTicks[entity.id] = ticks
            let action = change == 0 ? entity.actions.create : change == 3 ? entity.actions.delete : entity.actions.update
            var dto = templateDTO(entity.template)
            dto["Id"] = entity.id
            dto[entity.field] = "v\(index)"
            if entity.type == "Team" { dto["TeamMembers"] = Array(Set([gene % 3 + 1, index % 2 + 1])).sorted() }
            if change == 3, quirk == 2 {
                dto["UpdatedOn"] = NSNull()  // a delete without UpdatedOn is final
            } else {
                dto["UpdatedOn"] = render(Timestamp(ticks: ticks), form: form)
            }
            let data = try! JSONSerialization.data(withJSONObject: [dto], options: [.sortedKeys])
            return NewDelivery(
                action: ActionCatalog.action(named: action)!, body: Array(data), source: .webhook, signature: .raw)
        }
    }

    private static func templateDTO(_ name: String) -> [String: Any] {
        let object = try! JSONSerialization.jsonObject(with: Data(NexudusFixtures.body(name)))
        return (object as! [[String: Any]])[0]
    }

    /// The same instant as Json.NET may write it: `Z` with 7 or trimmed digits, an offset, or
    /// no suffix (read as UTC).
    package static func render(_ instant: Timestamp, form: Int) -> String {
        let canonical = instant.description  // 2026-03-02T08:00:00.1234567Z
        switch form {
        case 0: return canonical
        case 1:
            var trimmed = String(canonical.dropLast())
            while trimmed.hasSuffix("0") { trimmed.removeLast() }
            if trimmed.hasSuffix(".") { trimmed.removeLast() }
            return trimmed + "Z"
        case 2:
            let shifted = Timestamp(ticks: instant.ticks + 2 * 3600 * Timestamp.ticksPerSecond).description
            return String(shifted.dropLast()) + "+02:00"
        default:
            return String(canonical.dropLast())
        }
    }
}

/// A small seeded generator, so a failing shuffle can be replayed from the reported seed.
package struct SplitMix: RandomNumberGenerator {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
