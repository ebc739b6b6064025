import Logging

/// swift-log's stderr handler, with metadata formatted only when a line is written. The stock
/// handler formats its metadata each time it is set, and the HTTP server sets a request id on
/// every request: that cost ~1 % of the receiver's CPU for lines that are almost never written.
struct StandardErrorLogHandler: LogHandler {
    private var output: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String) { output = StreamLogHandler.standardError(label: label) }

    var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        output.log(event: event)
    }
}
