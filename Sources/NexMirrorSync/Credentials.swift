import Foundation

/// The Nexudus user the mirror signs in as, and where it came from (named in errors, never
/// the password itself).
public struct NexudusCredentials: Sendable {
    public let username: String
    /// nil when only `NEXUDUS_USERNAME` is set: the token file then signs in, and the password
    /// is asked for only if its refresh token is refused (a cron or systemd unit may keep the
    /// user name in its environment and the password nowhere).
    public let password: String?
    /// A current two-factor code, needed only for a first sign-in of a 2FA user.
    public let totp: String?
    public let source: String

    public init(username: String, password: String?, totp: String?, source: String) {
        self.username = username
        self.password = password
        self.totp = totp
        self.source = source
    }

    /// `--credentials-file F` (user on line 1, password on line 2), else `NEXUDUS_USERNAME` and
    /// `NEXUDUS_PASSWORD` (the password may be missing); `NEXUDUS_TOTP` either way. nil when
    /// neither is set.
    public static func load(file: String?, environment: [String: String]) throws(SyncError) -> NexudusCredentials? {
        let totp = environment["NEXUDUS_TOTP"].flatMap { $0.isEmpty ? nil : $0 }
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .configuration("cannot read the credentials file \(file); check the path and its permissions")
            }
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard lines.count >= 2, !lines[0].isEmpty, !lines[1].isEmpty else {
                throw .configuration("credentials file \(file) must hold the user on line 1 and the password on line 2")
            }
            return NexudusCredentials(username: lines[0], password: lines[1], totp: totp, source: "--credentials-file \(file)")
        }
        guard let username = environment["NEXUDUS_USERNAME"], !username.isEmpty else { return nil }
        let password = environment["NEXUDUS_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        return NexudusCredentials(username: username, password: password, totp: totp, source: "NEXUDUS_USERNAME/NEXUDUS_PASSWORD")
    }
}

/// The mirror's own `client_id` and the current refresh token, in a 0600 file outside the
/// database (where `query` could read it). Each rotated refresh token is written here before
/// it is used, since Nexudus invalidates the old one.
public struct TokenFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public struct Contents: Codable, Sendable, Equatable {
        public var clientId: String
        public var refreshToken: String?

        enum CodingKeys: String, CodingKey {
            case clientId = "client_id"
            case refreshToken = "refresh_token"
        }
    }

    public func read() throws(SyncError) -> Contents? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
              let contents = try? JSONDecoder().decode(Contents.self, from: data)
        else { throw .configuration("the token file \(path) is unreadable; remove it to sign in again") }
        return contents
    }

    /// Written to a 0600 temporary file and renamed, so a crash never leaves half a token.
    public func write(_ contents: Contents) throws(SyncError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(contents) else { throw .configuration("cannot encode the token file") }
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .configuration("cannot write the token file \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(descriptor, 0o600)
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .configuration("cannot write the token file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
