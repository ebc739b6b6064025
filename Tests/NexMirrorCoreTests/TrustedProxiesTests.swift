import Testing
@testable import NexMirrorCore

@Suite struct TrustedProxiesTests {
    @Test func withoutTrustedProxiesThePeerIsTheClientWhateverTheHeaderSays() {
        #expect(TrustedProxies.none.client(peer: "127.0.0.1", forwardedFor: ["203.0.113.9"]) == "127.0.0.1")
    }

    @Test func anUntrustedPeerCannotForgeItsAddress() throws {
        let proxies = try TrustedProxies(["10.0.0.5"])
        #expect(proxies.client(peer: "198.51.100.7", forwardedFor: ["203.0.113.9"]) == "198.51.100.7")
    }

    @Test func behindATrustedProxyTheRightMostUntrustedHopIsTheClient() throws {
        let proxies = try TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
        // The client forged the left-most entry; the proxies appended the real ones.
        let chain = ["1.2.3.4, 203.0.113.9", "10.1.2.3"]
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: chain) == "203.0.113.9")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
    }

    @Test func whenEveryHopIsTrustedTheLeftMostIsTheClient() throws {
        let proxies = try TrustedProxies(["10.0.0.0/8"])
        #expect(proxies.client(peer: "10.0.0.1", forwardedFor: ["10.9.9.9, 10.0.0.2"]) == "10.9.9.9")
    }

    @Test func aTrustedProxyWithoutTheHeaderIsItselfTheClient() throws {
        let proxies = try TrustedProxies(["127.0.0.1"])
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
    }

    @Test func garbageInTheChainFallsBackToWhatTheConnectionProves() throws {
        let proxies = try TrustedProxies(["127.0.0.1"])
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["<script>"]) == "127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["<script>, 203.0.113.9"]) == "203.0.113.9")
    }

    @Test func ipv6PortsAndMappedAddressesAreUnderstood() throws {
        let proxies = try TrustedProxies(["::1", "fd00::/8"])
        #expect(proxies.contains("::1"))
        #expect(proxies.contains("fd12:3456::1"))
        #expect(!proxies.contains("fe80::1"))
        #expect(proxies.client(peer: "::1", forwardedFor: ["[2001:db8::7]:443"]) == "2001:db8::7")
        let v4 = try TrustedProxies(["127.0.0.1"])
        #expect(v4.contains("::ffff:127.0.0.1"))
        #expect(v4.client(peer: "::ffff:127.0.0.1", forwardedFor: ["203.0.113.9:5123"]) == "203.0.113.9")
    }

    @Test func invalidSpecificationsAreRefused() {
        for text in ["localhost", "10.0.0.0/33", "1.2.3", "::1/129", ""] {
            #expect(throws: TrustedProxies.InvalidAddress.self) { try TrustedProxies([text]) }
        }
    }
}
