import NexMirrorProjections

/// What a rebuild refolds, decided the same on every backend: the projections named (in the
/// order named, each once), or all of them when none is named. An unknown name is refused
/// before anything is touched.
public struct RebuildSelection: Sendable {
    public let projections: [any Projection]

    public init(named names: [String]?) throws(StoreError) {
        guard let names, !names.isEmpty else {
            projections = Projections.all
            return
        }
        var seen: Set<String> = []
        var projections: [any Projection] = []
        for name in names where seen.insert(name).inserted {
            guard let projection = Projections.named(name) else { throw .unknownProjection(name) }
            projections.append(projection)
        }
        self.projections = projections
    }

    public var names: Set<String> { Set(projections.map(\.name)) }

    public var isEverything: Bool { names.count == Projections.all.count }

    /// The tables refolded into copies and swapped in: the projections' own, then `tombstones`,
    /// which every projection shares (see `carryOverTombstones`).
    public var tables: [String] { projections.flatMap(\.ownedTables) + ["tombstones"] }

    /// Copies into the rebuilt tombstones table (`rebuilt`) the live tombstones of the entity
    /// types whose projection is not rebuilt, so they survive the swap unchanged; nil when every
    /// projection is rebuilt. A type no projection claims belongs to the catch-all projection
    /// (`Projections.projection(for:)`), so its tombstones go with that one.
    public func carryOverTombstones(into rebuilt: String, _ dialect: SQLDialect) -> SQLStatement? {
        guard !isEverything else { return nil }
        let selected = names
        let claimed = Projections.all.flatMap { $0.entityTypes ?? [] }.sorted()
        let rebuiltTypes = claimed.filter { selected.contains(Projections.projection(for: $0).name) }
        let keptTypes = claimed.filter { !selected.contains(Projections.projection(for: $0).name) }
        let catchAllRebuilt = Projections.all.contains { $0.entityTypes == nil && selected.contains($0.name) }
        // Kept: the other projections' types when the catch-all is rebuilt, else all but the rebuilt ones.
        let (types, membership) = catchAllRebuilt ? (keptTypes, "IN") : (rebuiltTypes, "NOT IN")
        let copy = "INSERT INTO \(rebuilt) SELECT * FROM tombstones"
        guard !types.isEmpty else { return catchAllRebuilt ? nil : SQLStatement(copy) }
        let list = types.indices.map { dialect.parameter($0 + 1) }.joined(separator: ", ")
        return SQLStatement("\(copy) WHERE entity_type \(membership) (\(list))", types.map(Cell.text))
    }
}
