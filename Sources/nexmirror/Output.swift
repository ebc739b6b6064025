import ArgumentParser
// The writers live in their own library; every command that prints rows sees them through here.
@_exported import NexMirrorOutput

extension OutputFormat: ExpressibleByArgument {}
