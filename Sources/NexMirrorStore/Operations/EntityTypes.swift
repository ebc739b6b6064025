import NexMirrorCore
import NexMirrorProjections

/// The entity types an ENTITY argument (`history`, `events --entity`) names.
public enum EntityTypes {
    /// A replica table (`coworkers`) stands for the types it folds; an entity type (`Coworker`,
    /// `Tariff`) for itself, any case. Nil when it names neither.
    public static func named(_ name: String) -> [String]? {
        let lowered = name.lowercased()
        for projection in Projections.all where projection.table == lowered {
            if let types = projection.entityTypes { return types.sorted() }
        }
        let known = Set(ActionCatalog.all.compactMap(\.entityType))
        return known.first { $0.lowercased() == lowered }.map { [$0] }
    }
}
