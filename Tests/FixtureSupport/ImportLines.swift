import Foundation

extension NexudusFixtures {
    /// Fixtures as a `nexmirror import` file (JSON Lines: action and exact body), every fixture
    /// but the emoji one by default; `rename` edits each body's text first (a later version).
    public static func importLines(_ names: [String]? = nil, rename: (String) -> String = { $0 }) throws -> Data {
        let lines = try (names ?? Self.names.filter { $0 != "emoji-name" }).map { name in
            let body = rename(String(decoding: body(name), as: UTF8.self))
            return String(decoding: try JSONSerialization.data(withJSONObject: ["action": action(of: name), "body": body]), as: UTF8.self)
        }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Ren Kowalski's personal values as the fixtures hold them: the coworker of CoworkerCreate
    /// and CoworkerDelete, named by the booking, invoice, team, check-in and proposal fixtures.
    public static let renId: Int64 = 1_419_000_582
    public static let renValues = ["Ren Kowalski", "m1419000582@example.org", "m1419000582+54@example.org", "+44 7700 934121"]
    /// José Müller's (CoworkerUpdate, the contracts): kept when Ren is forgotten.
    public static let joseValues = ["José Müller", "m1419009389+36@example.org"]
}
