#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reverse proxies whose `X-Forwarded-For` is believed (`serve --trusted-proxy`), and the
/// rule that finds a request's real client behind them.
///
/// Anyone can send an `X-Forwarded-For` header, so it is read only when the connection itself
/// comes from a trusted proxy, and then from the right: each trusted proxy appends the address
/// it saw, so the right-most entry that is not a trusted proxy is the first hop nobody trusted
/// vouches for. Entries further left were written by the client and may be forged.
public struct TrustedProxies: Sendable, Equatable {
    /// An address or a CIDR block, as 4 or 16 bytes and a prefix length.
    struct Block: Sendable, Equatable {
        let network: [UInt8]
        let prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var remaining = prefixLength
            for (a, n) in zip(address, network) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != n & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    public struct InvalidAddress: Error, CustomStringConvertible, Equatable {
        public let text: String
        public var description: String {
            "'\(text)' is not an IP address or CIDR block (e.g. 127.0.0.1, ::1, 10.0.0.0/8)"
        }
    }

    let blocks: [Block]

    /// No proxy is trusted: the connection's peer is always the client.
    public static let none = TrustedProxies(blocks: [])

    init(blocks: [Block]) { self.blocks = blocks }

    /// Parses addresses (`127.0.0.1`, `::1`) and CIDR blocks (`10.0.0.0/8`, `fd00::/8`).
    public init(_ specifications: [String]) throws(InvalidAddress) {
        var blocks: [Block] = []
        for text in specifications {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = Self.parse(String(parts[0])) else { throw InvalidAddress(text: text) }
            var prefixLength = address.count * 8
            if parts.count == 2 {
                guard let length = Int(parts[1]), (0...prefixLength).contains(length) else {
                    throw InvalidAddress(text: text)
                }
                prefixLength = length
            }
            blocks.append(Block(network: address, prefixLength: prefixLength))
        }
        self.blocks = blocks
    }

    public var isEmpty: Bool { blocks.isEmpty }

    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.parse(address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client's address: the peer itself unless the peer is a trusted proxy, else the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy (the left-most entry
    /// when every one is). `forwardedFor` holds the header's values, several lines allowed.
    public func client(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer, !blocks.isEmpty, contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { Self.trimmed($0) }
        var candidate: String?
        for hop in hops.reversed() {
            // A hop no proxy could have written means a misconfigured chain: keep what the
            // connection proves rather than a string from the header.
            guard let bytes = Self.parse(hop) else { return candidate ?? peer }
            candidate = Self.format(bytes)
            if !blocks.contains(where: { $0.contains(bytes) }) { return candidate }
        }
        return candidate ?? peer
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }

    /// 4 bytes for IPv4 (also IPv4-mapped IPv6), 16 for IPv6; nil for anything else. Accepts
    /// `1.2.3.4:port` and `[v6]:port`, which some proxies write.
    static func parse(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = text[..<colon]
        }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        let string = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, string, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12...])
        }
        return bytes
    }

    /// The canonical text of an address, so one client is always recorded the same way.
    static func format(_ bytes: [UInt8]) -> String {
        var output = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &output, socklen_t(output.count)) }
        guard ok != nil else { return "" }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
