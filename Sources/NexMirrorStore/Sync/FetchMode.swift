import NexMirrorCore

/// How `sync` fetches one kind's full records, as the last check of the batch form decided it
/// (`sync_state.fetch_mode`): in batches (`GET …/?id=[a,b,…]`), or one `GET …/{id}` per record
/// because the batch form was refused or answered otherwise than the single GETs.
public struct FetchMode: Sendable, Equatable {
    public enum Form: String, Sendable { case batch, single }

    public var form: Form
    /// Why `single`: what the check found, in one line without record data.
    public var note: String?
    /// When the batch form was last checked.
    public var checkedAt: Timestamp

    public init(form: Form, note: String? = nil, checkedAt: Timestamp) {
        self.form = form
        self.note = note
        self.checkedAt = checkedAt
    }

    /// What `status` and the dashboard show: `batch`, or `single: <why>`.
    public static func describe(mode: String?, note: String?) -> String {
        guard let mode else { return "-" }
        return note.map { "\(mode): \($0)" } ?? mode
    }
}

extension FetchMode {
    /// The modes per kind from rows of (kind, fetch_mode, fetch_note, fetch_checked_at); a row
    /// with no mode or no time of check (or one this version cannot read) says nothing.
    public static func byKind(_ rows: [[Cell]]) -> [String: FetchMode] {
        var modes: [String: FetchMode] = [:]
        for row in rows {
            guard case .text(let kind) = row[0], case .text(let mode) = row[1], let form = Form(rawValue: mode),
                case .text(let checked) = row[3], let checkedAt = Timestamp(parsing: checked)
            else { continue }
            let note: String? = if case .text(let note) = row[2] { note } else { nil }
            modes[kind] = FetchMode(form: form, note: note, checkedAt: checkedAt)
        }
        return modes
    }
}
