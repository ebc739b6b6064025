import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the server, for what an HTTP client library hides: an interim
/// `100 Continue`, a head sent without its body, a body trickled or never sent.
///
/// Calls block, so tests run them through `offThread` rather than on the cooperative pool.
final class RawSocket: @unchecked Sendable {
    private let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var closedByPeer = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError.system("socket", errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw RawSocketError.system("connect", code)
        }
        setTimeout(SO_SNDTIMEO, seconds: 10)
    }

    deinit { Glibc.close(fd) }

    var text: String { String(decoding: received, as: UTF8.self) }

    func send(_ string: String) throws { try send(Array(string.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw RawSocketError.system("send", errno) }
            offset += written
        }
    }

    /// Reads until `done` holds for everything received so far, the peer closes, or `timeout`
    /// passes; returns whether `done` held.
    @discardableResult
    func receive(timeout: Double, until done: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done(text) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, !closedByPeer else { return false }
            setTimeout(SO_RCVTIMEO, seconds: min(left, 0.2))
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[0..<count]
            } else if count == 0 {
                closedByPeer = true
            } else if errno == ECONNRESET {
                closedByPeer = true
            }
        }
        return true
    }

    /// Reads until the peer closes the connection; returns false if it is still open at `timeout`.
    @discardableResult
    func receiveUntilClosed(timeout: Double) -> Bool {
        receive(timeout: timeout) { _ in false }
        return closedByPeer
    }

    /// Forgets what was received, for the next exchange on a kept-alive connection.
    func clear() { received = [] }

    private func setTimeout(_ option: Int32, seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}

enum RawSocketError: Error, CustomStringConvertible {
    case system(String, Int32)
    var description: String {
        switch self {
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        }
    }
}

/// Runs blocking work on a thread of its own, away from Swift concurrency's few threads.
func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// Counts complete HTTP responses (final or interim) in what a raw socket received.
func statusLines(_ text: String) -> [String] {
    text.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
}

/// A thousand connections are two thousand descriptors in this one process (both ends), over
/// the soft limit of 1024 some machines start with: raise it to 8192 where the hard limit allows
/// (not to the hard limit itself, which can be a million, for the sake of the rest of the suite).
func raiseOpenFileLimit(to wanted: rlim_t = 8192) {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < wanted else { return }
    limit.rlim_cur = min(wanted, limit.rlim_max)
    _ = setrlimit(resource, &limit)
}
