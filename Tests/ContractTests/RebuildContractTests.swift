import Foundation
import NexMirrorProjections
import NexMirrorStore
import NexMirrorTestSupport
import Testing

/// `rebuild` decides what to refold the same way on both backends (`RebuildSelection`).
@Suite struct RebuildContractTests {
    /// An unknown name is refused before anything is touched, by the store as by the CLI.
    @Test(arguments: Backend.all)
    func anUnknownProjectionIsRefusedTheSameWay(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.importLines(ContractLogs.fixtures())
        let store = try await database.openStore()
        let known = Projections.all.map(\.name).joined(separator: ", ")
        let projections = "SELECT name, version, checkpoint, rebuilt_at FROM projections ORDER BY name"
        let before = try await database.rows(projections)
        for names in [["nope"], ["bookings", "nope"]] {
            do {
                _ = try await store.rebuild(projectionNames: names, progress: nil)
                Issue.record("\(backend): rebuilding \(names) was accepted")
            } catch let error as StoreError {
                #expect(error.description == "unknown projection 'nope'; known: \(known)", "\(backend)")
            }
        }
        #expect(try await database.rows(projections) == before, "\(backend): a projection was rebuilt")

        let refused = try await database.run(["rebuild", "--projection", "nope"])
        #expect(refused.status != 0, "\(backend): \(refused.stderr)")
        #expect(refused.stderr.contains("unknown projection 'nope'; known: \(known)"), "\(backend): \(refused.stderr)")
        CrossBackend.expectSame("rebuild --projection nope", "\(refused.status) \(refused.stderr)", on: backend)
    }

    /// A partial rebuild replaces only its projections' tombstones; the others' carry over, and
    /// the summary names the projections in the order asked.
    @Test(arguments: Backend.all)
    func aPartialRebuildKeepsTheOtherProjectionsTombstones(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.importLines(ContractLogs.fixtures() + ContractLogs.generated())
        let tombstones = "SELECT entity_type, id, seq, updated_on FROM tombstones ORDER BY entity_type, id"
        let before = try await database.rows(tombstones)
        #expect(Set(before.map { $0[0] }).count > 1, "\(backend): the log should delete more than one kind")
        let catchAll = try #require(Projections.all.first { $0.entityTypes == nil }).name
        for names in [["bookings", "coworkers"], [catchAll], ["teams"]] {
            let rebuilt = try await database.run(["rebuild"] + names.flatMap { ["--projection", $0] })
            #expect(rebuilt.status == 0, "\(backend) \(names): \(rebuilt.stderr)")
            #expect(rebuilt.output.hasPrefix("rebuilt \(names.joined(separator: ", ")): "), "\(backend): \(rebuilt.output)")
            #expect(try await database.rows(tombstones) == before, "\(backend) \(names)")
        }
    }
}
