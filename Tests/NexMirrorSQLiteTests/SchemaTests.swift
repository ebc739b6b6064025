import Foundation
import NexMirrorSchema
import NexudusFixtures
import Testing

/// The migrations embedded by the SchemaMigrations plugin are the files under `Schema/`.
@Suite struct SchemaTests {
    @Test func everyMigrationFileIsEmbeddedInTheOrderOfItsName() throws {
        let schema = NexudusFixtures.packageRoot.appendingPathComponent("Schema")
        for (folder, migrations) in [(schema, Schema.migrations), (schema.appendingPathComponent("postgres"), PostgresSchema.migrations)] {
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".sql") }.sorted()
            #expect(migrations.map(\.identifier) == files.map { String($0.dropLast(".sql".count)) })
            for (migration, file) in zip(migrations, files) {
                #expect(migration.sql == (try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)))
            }
        }
    }

    @Test func theMembersViewIsTheOneBothReplicaMigrationsCreate() {
        for migration in [Schema.migrations[1], PostgresSchema.migrations[1]] {
            let text = migration.sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains("CREATE VIEW members AS \(Schema.membersView);"), "\(migration.identifier)")
        }
    }
}
