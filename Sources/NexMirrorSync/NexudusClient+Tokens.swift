import Foundation
import NexMirrorCore

/// Signing in: the rotating refresh token kept in the token file, else the password grant.
extension NexudusClient {
    /// Refresh with the stored token when there is one (no password needed), else the
    /// password grant; each new refresh token is written to the token file before use.
    func signIn() async throws(SyncError) {
        var stored = try tokenFile.read() ?? unsaved
        if let refreshToken = stored?.refreshToken, let clientId = stored?.clientId {
            let answer = try await tokenRequest(
                ["grant_type": "refresh_token", "refresh_token": refreshToken], clientId: clientId)
            if answer.status == 200 {
                return try accept(answer, clientId: clientId)
            }
            guard let credentials, credentials.password != nil else {
                let missing = credentials == nil ? "set NEXUDUS_USERNAME and NEXUDUS_PASSWORD" : "set NEXUDUS_PASSWORD"
                throw .authentication(
                    "the refresh token in \(tokenFile.path) was refused (\(answer.status)); \(missing) "
                        + "(or pass --credentials-file) to sign in again")
            }
            logger.notice("stored refresh token refused; signing in with the password")
            stored?.refreshToken = nil
        }
        guard let credentials, let password = credentials.password else {
            let missing = credentials == nil
                ? "set NEXUDUS_USERNAME and NEXUDUS_PASSWORD" : "NEXUDUS_USERNAME is set: set NEXUDUS_PASSWORD"
            throw .configuration(
                "no Nexudus token in \(tokenFile.path) yet and no password: \(missing) (or pass --credentials-file) "
                    + "for the first sign-in; after it the token file is enough")
        }
        // A client_id of the mirror's own, so its refresh token is not invalidated by the
        // user signing in elsewhere (one refresh token per client_id).
        let clientId = stored?.clientId ?? "nexmirror-" + UUID().uuidString.lowercased()
        var form = ["grant_type": "password", "username": credentials.username, "password": password,
                    "client_id": clientId]
        if let totp = credentials.totp { form["totp"] = totp }
        let answer = try await tokenRequest(form, clientId: clientId)
        guard answer.status == 200 else {
            let reason = Self.tokenError(answer)
            throw .authentication("Nexudus refused the sign-in with the credentials from \(credentials.source): \(reason)")
        }
        try accept(answer, clientId: clientId)
    }

    private func accept(_ answer: Answer, clientId: String) throws(SyncError) {
        guard case .object(let members)? = try? JSONParser.parse(answer.body),
              case .string(let access)? = members["access_token"]
        else { throw .api("the token answer of \(baseURL)/token holds no access_token") }
        if case .string(let refresh)? = members["refresh_token"] {
            let contents = TokenFile.Contents(clientId: clientId, refreshToken: refresh)
            if createsTokenFile || FileManager.default.fileExists(atPath: tokenFile.path) {
                try tokenFile.write(contents)
            } else {
                unsaved = contents
            }
        }
        accessToken = access
    }

    private static func tokenError(_ answer: Answer) -> String {
        if case .object(let members)? = try? JSONParser.parse(answer.body) {
            let code = members["error"].flatMap { if case .string(let s) = $0 { s } else { nil } }
            let text = members["error_description"].flatMap { if case .string(let s) = $0 { s } else { nil } }
            if let code { return text.map { "\(code): \($0)" } ?? code }
        }
        return "HTTP \(answer.status)"
    }

    private func tokenRequest(_ form: [String: String], clientId: String) async throws(SyncError) -> Answer {
        let body = form.sorted { $0.key < $1.key }.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }
            .joined(separator: "&")
        var failures = 0
        while true {
            do {
                let answer = try await exchange(
                    .POST, url: "\(baseURL)/token", body: Array(body.utf8),
                    contentType: "application/x-www-form-urlencoded", headers: [("client_id", clientId)])
                switch answer.status {
                case 409, 429:
                    await pacer.holdOff(for: Self.retryAfter(answer))
                    continue
                case 500...599:
                    failures += 1
                    guard failures < attempts else { return answer }
                    try await backoff(failures)
                    continue
                default:
                    return answer
                }
            } catch let error as SyncError {
                throw error
            } catch {
                failures += 1
                guard failures < attempts else { throw .api("cannot reach \(baseURL)/token: \(error)") }
                try await backoff(failures)
            }
        }
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
