import ArgumentParser

@main
struct NexMirror: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nexmirror",
        abstract: "Keep a local, queryable replica of a Nexudus account, fed by its webhooks.",
        discussion: """
            Every verified webhook delivery is appended to a durable event log; projections fold \
            the log into SQL tables (coworkers, bookings, invoices, …) that you can query and export.

            Start receiving:   nexmirror serve
            Try a delivery:    nexmirror send CoworkerCreate
            See the replica:   nexmirror query "SELECT full_name, email FROM members"
            """,
        // buildCommit is generated at build time by Plugins/BuildCommit.
        version: "\(nexmirrorVersion) (commit \(buildCommit))",
        subcommands: [
            Serve.self, Rebuild.self, Query.self, Export.self, Events.self, Status.self, Import.self,
            Send.self, Sign.self, Verify.self, Actions.self, Sync.self, Webhooks.self, History.self, Backup.self,
            Check.self, Forget.self, Compact.self, GrantReader.self,
        ]
    )
}
