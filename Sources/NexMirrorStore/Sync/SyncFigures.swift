/// One kind's completed sync as `sync_state` keeps it: what was listed and fetched, and the
/// drift (new, changed, deleted) that webhooks had not delivered.
public struct SyncFigures: Sendable, Equatable {
    /// The kind's name as on the command line (`coworkers`, `tariffs`, …).
    public let kind: String
    public var listed: Int
    public var fetched: Int
    public var new: Int
    public var changed: Int
    public var deleted: Int
    public var unchanged: Int

    public init(kind: String, listed: Int, fetched: Int, new: Int, changed: Int, deleted: Int, unchanged: Int) {
        self.kind = kind
        self.listed = listed
        self.fetched = fetched
        self.new = new
        self.changed = changed
        self.deleted = deleted
        self.unchanged = unchanged
    }
}
