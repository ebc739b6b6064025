import ArgumentParser
import Foundation
import NexMirrorStore

struct GrantReader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant-reader",
        abstract: "Let a PostgreSQL role read the replica tables and views, and nothing else.",
        discussion: """
            For analysts and BI tools: grants ROLE (which must exist) USAGE on nexmirror's \
            schema and SELECT on the replica tables (\(ReaderRelations.all.dropLast().joined(separator: ", "))) \
            and the `members` view, after revoking whatever else it held on the schema's tables \
            and sequences. Never the log (`events`, `rejections`), sync state, erasure or \
            compaction records, checkpoints, or anything holding a token. Idempotent: run it \
            again after an upgrade adds replica tables. The role is remembered, so a `rebuild`, \
            which replaces the tables, grants the new ones too.

            PostgreSQL only. A SQLite file is readable whole or not at all, so on SQLite it \
            prints why in one line and exits with status 2; give analysts `nexmirror export` \
            files (or a `backup` copy) instead.

            Examples:
              psql -c "CREATE ROLE analyst LOGIN PASSWORD '…'"
              nexmirror grant-reader analyst --db postgresql://nexmirror@db/nexmirror
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("The PostgreSQL role to grant read access to the replica.", valueName: "role"))
    var role: String

    func run() async throws {
        guard case .postgreSQL = database.location else {
            Terminal.printError(
                "grant-reader applies to PostgreSQL only: a SQLite file is readable whole or not at all, "
                    + "so give readers `nexmirror export` files instead")
            throw ExitCode(2)
        }
        guard let access = try await database.openStore(mustExist: true) as? any ReaderAccess else {
            throw ExitCode(2)
        }
        let relations = try await access.grantReader(role: role)
        print("\(role) may now SELECT \(relations.joined(separator: ", ")); nothing else in the schema")
    }
}
