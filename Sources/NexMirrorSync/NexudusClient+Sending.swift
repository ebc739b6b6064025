import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Sending under the politeness rules (SPEC §7): the pacer, `Retry-After`, bounded retries with
/// backoff, and a fresh sign-in on a 401.
extension NexudusClient {
    /// Sends a request under the politeness rules, signing in first when needed.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], encodedQuery: String? = nil,
        body: [UInt8]? = nil, contentType: String? = nil
    ) async throws(SyncError) -> Answer {
        if accessToken == nil { try await signIn() }
        var refreshed = false
        var failures = 0
        while true {
            let answer: Answer
            do {
                answer = try await exchange(
                    method, url: encodedQuery.map { "\(baseURL)/\(path)?\($0)" } ?? url(path, query), body: body,
                    contentType: contentType, headers: [("Authorization", "Bearer \(accessToken ?? "")")])
            } catch let error as SyncError {
                throw error
            } catch {
                failures += 1
                guard failures < attempts else {
                    throw .api("\(method) \(baseURL)/\(path) failed \(failures) times: \(error); run sync again to continue")
                }
                try await backoff(failures)
                continue
            }
            switch answer.status {
            case 401 where !refreshed:
                // Access tokens may stop working at any time (Nexudus: "do not assume they last").
                refreshed = true
                accessToken = nil
                try await signIn()
            case 401:
                throw .authentication(
                    "the Nexudus API refused the token for \(method) /\(path) (401) even after signing in again; "
                        + "check that the user \(credentials.map { "from \($0.source) " } ?? "")has the role this needs")
            case 409, 429:
                await pacer.holdOff(for: Self.retryAfter(answer))
            case 500...599:
                failures += 1
                guard failures < attempts else {
                    throw .api("\(method) \(baseURL)/\(path) answered \(answer.status) \(failures) times; run sync again to continue")
                }
                try await backoff(failures)
            default:
                return answer
            }
        }
    }

    static func retryAfter(_ answer: Answer) -> Duration { answer.retryAfter ?? .seconds(1) }

    func backoff(_ failures: Int) async throws(SyncError) {
        let delay = firstBackoff * (1 << min(failures - 1, 6))
        logger.warning("Nexudus API failed; retrying", metadata: ["attempt": "\(failures)", "in": "\(delay)"])
        await pacer.holdOff(for: delay)
    }

    private func url(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "\(baseURL)/\(path)" }
        let encoded = query.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        return "\(baseURL)/\(path)?\(encoded)"
    }

    /// One HTTP exchange after the pacer admits it; no retry here.
    func exchange(
        _ method: HTTPMethod, url: String, body: [UInt8]?, contentType: String?, headers: [(String, String)]
    ) async throws -> Answer {
        do {
            try await pacer.admit()
        } catch {
            throw SyncError.api("sync cancelled")
        }
        requestsSent += 1
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "nexmirror")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 256 << 20)
        return Answer(
            status: Int(response.status.code), body: Array(buffer: collected),
            retryAfter: response.headers.first(name: "Retry-After").flatMap(Self.parseRetryAfter))
    }
}

extension NexudusClient {
    /// Delta-seconds (a decimal is tolerated) or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return .milliseconds(Int64((seconds * 1000).rounded(.up))) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}

extension HTTPClient {
    /// The pool's default retries a refused connection silently until the 60 s request deadline,
    /// so five attempts took five minutes; failing at once lets `attempts`/backoff govern.
    public static let nexudusAPI: HTTPClient = {
        // Otherwise what `.shared` uses (redirects, decompression, pool), so records read the same.
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
