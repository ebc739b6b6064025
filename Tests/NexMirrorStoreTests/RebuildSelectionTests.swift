import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore
import Testing

@Suite struct RebuildSelectionTests {
    @Test func noNameSelectsEveryProjectionAndCarriesNoTombstoneOver() throws {
        for names in [nil, [String]()] {
            let selection = try RebuildSelection(named: names)
            #expect(selection.projections.map(\.name) == Projections.all.map(\.name))
            #expect(selection.isEverything)
            #expect(selection.tables == Projections.replicaTables)
            #expect(selection.carryOverTombstones(into: "tombstones__next", .postgreSQL) == nil)
        }
    }

    @Test func anUnknownNameIsRefusedWithTheKnownOnes() {
        #expect(throws: StoreError.self) { try RebuildSelection(named: ["bookings", "nope"]) }
        do {
            _ = try RebuildSelection(named: ["nope"])
            Issue.record("an unknown projection was accepted")
        } catch {
            #expect(error.description == "unknown projection 'nope'; known: \(Projections.all.map(\.name).joined(separator: ", "))")
        }
    }

    @Test func namedProjectionsKeepTheirOrderAndCountOnce() throws {
        let selection = try RebuildSelection(named: ["invoices", "bookings", "invoices"])
        #expect(selection.projections.map(\.name) == ["invoices", "bookings"])
        #expect(!selection.isEverything)
        #expect(selection.tables.last == "tombstones")
        #expect(selection.tables.filter { $0 == "tombstones" }.count == 1)
    }

    @Test func aTypedProjectionsRebuildKeepsEveryOtherTypesTombstones() throws {
        let bookings = try #require(Projections.named("bookings")?.entityTypes).sorted()
        let statement = try #require(try RebuildSelection(named: ["bookings"]).carryOverTombstones(into: "tombstones__rebuild", .sqlite))
        let list = bookings.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
        #expect(statement.sql == "INSERT INTO tombstones__rebuild SELECT * FROM tombstones WHERE entity_type NOT IN (\(list))")
        #expect(statement.arguments == bookings.map(Cell.text))
    }

    @Test func theCatchAllsRebuildKeepsOnlyTheTypedProjectionsTombstones() throws {
        let catchAll = try #require(Projections.all.first { $0.entityTypes == nil })
        let typed = Projections.all.flatMap { $0.entityTypes ?? [] }.sorted()
        let statement = try #require(try RebuildSelection(named: [catchAll.name]).carryOverTombstones(into: "tombstones__next", .postgreSQL))
        #expect(statement.sql.hasPrefix("INSERT INTO tombstones__next SELECT * FROM tombstones WHERE entity_type IN ($1, "))
        #expect(statement.arguments == typed.map(Cell.text))
        // With one typed projection rebuilt too, its types are no longer kept.
        let both = try #require(try RebuildSelection(named: [catchAll.name, "coworkers"]).carryOverTombstones(into: "t", .sqlite))
        let coworkers = try #require(Projections.named("coworkers")?.entityTypes)
        #expect(both.arguments == typed.filter { !coworkers.contains($0) }.map(Cell.text))
    }

    @Test func everyTombstoneIsEitherRebuiltOrCarriedOver() throws {
        // For each projection alone: a type is carried over exactly when its projection is another one.
        for projection in Projections.all {
            let statement = try RebuildSelection(named: [projection.name]).carryOverTombstones(into: "t", .sqlite)
            var listed: Set<String> = []
            for case .text(let type) in statement?.arguments ?? [] { listed.insert(type) }
            let carriesIn = statement?.sql.contains(" IN (") == true && statement?.sql.contains("NOT IN") == false
            let types: [String] = Projections.all.flatMap { Array($0.entityTypes ?? []) } + ["SomethingNew"]
            for type in types {
                let kept = carriesIn ? listed.contains(type) : !listed.contains(type)
                #expect(kept == (Projections.projection(for: type).name != projection.name), "\(projection.name): \(type)")
            }
        }
    }
}
