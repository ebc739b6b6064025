import Foundation
import NexMirrorServer
import NexudusFixtures
import NIOCore
import Testing

/// What the receiver does at the edges of HTTP/1, on a real loopback listener of the in-process
/// application (its connection guard included): the `Expect: 100-continue` handshake a .NET
/// sender makes, early answers, limits and slow clients.
@Suite struct HTTPEdgeTests {
    /// The head of a signed delivery of `fixture`, as Nexudus's .NET client writes it.
    static func head(
        _ fixture: String, action: String? = nil, length: Int? = nil, extra: [String] = []
    ) -> String {
        var lines = [
            "POST /webhooks/\(action ?? NexudusFixtures.action(of: fixture)) HTTP/1.1", "Host: 127.0.0.1",
            "Content-Type: application/json; charset=utf-8",
            "X-Nexudus-Hook-Signature: \(NexudusFixtures.signatures[fixture] ?? "")",
            "Content-Length: \(length ?? NexudusFixtures.body(fixture).count)", "Expect: 100-continue",
        ]
        lines += extra
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Delivers `fixture` on a connection of its own (no `Expect`); returns the status line.
    static func deliver(_ fixture: String, port: Int) async throws -> String? {
        try await offThread {
            let socket = try RawSocket(port: port)
            try socket.send(head(fixture).replacingOccurrences(of: "Expect: 100-continue\r\n", with: ""))
            try socket.send(NexudusFixtures.body(fixture))
            socket.receive(timeout: 10) { $0.contains("}") }
            return statusLines(socket.text).first
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyOnAKeptAliveConnection() async throws {
        let receiver = try Receiver()
        try await receiver.serving { port in
            let outcomes = try await offThread { () -> [[String]] in
                let socket = try RawSocket(port: port)
                var outcomes: [[String]] = []
                for fixture in ["CoworkerCreate", "BookingCreate", "TeamCreated", "CoworkerCreate"] {
                    socket.clear()
                    try socket.send(Self.head(fixture))
                    // Nothing of the body is sent until the interim answer arrives.
                    guard socket.receive(timeout: 5, until: { $0.contains("\r\n\r\n") }) else {
                        outcomes.append(["no interim answer: \(socket.text)"])
                        continue
                    }
                    var lines = statusLines(socket.text)
                    try socket.send(NexudusFixtures.body(fixture))
                    socket.receive(timeout: 5) { $0.contains("\"seq\"") }
                    lines = statusLines(socket.text)
                    outcomes.append(lines + [socket.text.components(separatedBy: "\r\n\r\n").last ?? ""])
                }
                return outcomes
            }
            #expect(outcomes.count == 4)
            for (index, outcome) in outcomes.enumerated() {
                #expect(outcome.prefix(2) == ["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"], "delivery \(index)")
            }
            #expect(outcomes[0].last == #"{"duplicate":false,"seq":1}"#)
            #expect(outcomes[2].last == #"{"duplicate":false,"seq":3}"#)
            #expect(outcomes[3].last == #"{"duplicate":true,"seq":1}"#)
        }
    }

    @Test func oversizedOrUnknownDeliveriesAreAnsweredFromTheHeadWithout100() async throws {
        let receiver = try Receiver { $0.maxBodyBytes = 100_000 }
        try await receiver.serving { port in
            for (head, status) in [
                (Self.head("CoworkerCreate", length: 5_000_000), "HTTP/1.1 413 Payload Too Large"),
                (Self.head("CoworkerCreate", action: "NoSuchAction"), "HTTP/1.1 404 Not Found"),
            ] {
                let (text, closed) = try await offThread { () -> (String, Bool) in
                    let socket = try RawSocket(port: port)
                    try socket.send(head)
                    let closed = socket.receiveUntilClosed(timeout: 3)
                    return (socket.text, closed)
                }
                #expect(statusLines(text) == [status])
                #expect(text.lowercased().contains("connection: close"))
                // An early answer ends the connection: the client may never send the body.
                #expect(closed)
            }
            // The server still takes deliveries.
            #expect(try await Self.deliver("CoworkerCreate", port: port) == "HTTP/1.1 200 OK")
        }
    }

    @Test func curlWithExpectIsNotDelayed() async throws {
        let receiver = try Receiver()
        try await receiver.serving { port in
            let bodyFile = NexudusFixtures.directory.appendingPathComponent("CoworkerCreate.json").path
            let written = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: written) }
            let curl = try ChildProcess("/usr/bin/env", [
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "Expect: 100-continue",
                "--expect100-timeout", "30", "-H", "Content-Type: application/json",
                "-H", "X-Nexudus-Hook-Signature: \(NexudusFixtures.signature("CoworkerCreate"))",
                "--data-binary", "@\(bodyFile)", "http://127.0.0.1:\(port)/webhooks/CoworkerCreate",
            ], standardOutput: written.path)
            #expect(await curl.exit() == 0)
            let output = (try? String(contentsOf: written, encoding: .utf8)) ?? ""
            let parts = output.split(separator: " ")
            #expect(parts.first == "200", "curl printed \(output)")
            // Without the interim answer curl would wait --expect100-timeout (30 s) before sending
            // the body; alone on the machine this takes a few milliseconds, so the bound tells
            // the two apart however loaded the machine is.
            #expect((parts.last.flatMap { Double($0) } ?? 99) < 10, "curl printed \(output)")
        }
    }

    @Test func headsOver16KiBGet431() async throws {
        let receiver = try Receiver()
        try await receiver.serving { port in
            let head = Self.head("CoworkerCreate", extra: ["X-Padding: " + String(repeating: "a", count: 20_000)])
            let text = try await offThread { () -> String in
                let socket = try RawSocket(port: port)
                try socket.send(head)
                socket.receiveUntilClosed(timeout: 3)
                return socket.text
            }
            #expect(statusLines(text) == ["HTTP/1.1 431 Request Header Fields Too Large"])
            #expect(try receiver.count("SELECT count(*) FROM events") == 0)
        }
    }

    @Test func bodiesOverTheLimitAreRefusedWithoutBeingReadWholeEvenWithConnectionClose() async throws {
        let receiver = try Receiver { $0.maxBodyBytes = 100_000 }
        try await receiver.serving { port in
            let oversized = [UInt8](repeating: 0x20, count: 3_000_000)
            // A client that writes its whole body before reading (as Python's urllib does).
            for framing in ["Content-Length: \(oversized.count)", "Transfer-Encoding: chunked"] {
                let (text, closed) = try await offThread { () -> (String, Bool) in
                    let socket = try RawSocket(port: port)
                    try socket.send("POST /webhooks/CoworkerCreate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\(framing)\r\n\r\n")
                    if framing.hasPrefix("Transfer") {
                        for start in stride(from: 0, to: oversized.count, by: 65536) {
                            let chunk = oversized[start..<min(start + 65536, oversized.count)]
                            try socket.send(String(chunk.count, radix: 16) + "\r\n")
                            try socket.send(Array(chunk))
                            try socket.send("\r\n")
                        }
                        try socket.send("0\r\n\r\n")
                    } else {
                        try socket.send(oversized)
                    }
                    let closed = socket.receiveUntilClosed(timeout: 5)
                    return (socket.text, closed)
                }
                #expect(statusLines(text) == ["HTTP/1.1 413 Payload Too Large"], "\(framing)")
                #expect(closed, "\(framing): the connection must end once the body is in")
            }
        }
    }

    @Test func slowClientsAreCutAndHoldUpNoOne() async throws {
        let timeout = 4.0
        let receiver = try Receiver { $0.limits.readTimeout = .seconds(Int64(timeout)) }
        try await receiver.serving { port in
            // Each returns what it received, whether the server closed, and when.
            async let trickledHead = offThread { () -> (String, Bool, Date, Date) in
                let socket = try RawSocket(port: port)
                let started = Date()
                try socket.send("POST /webhooks/CoworkerCreate HTTP/1.1\r\nHost: x\r\n")
                for index in 0..<80 where !socket.closedByPeer {
                    try? socket.send("X-Slow-\(index): 1\r\n")
                    socket.receive(timeout: 0.25) { _ in false }
                }
                let closed = socket.receiveUntilClosed(timeout: 3)
                return (socket.text, closed, started, Date())
            }
            async let trickledBody = offThread { () -> (Bool, Date, Date) in
                let socket = try RawSocket(port: port)
                let started = Date()
                try socket.send(Self.head("CoworkerCreate").replacingOccurrences(of: "Expect: 100-continue\r\n", with: ""))
                for byte in NexudusFixtures.body("CoworkerCreate").prefix(80) where !socket.closedByPeer {
                    try? socket.send([byte])
                    socket.receive(timeout: 0.25) { _ in false }
                }
                let closed = socket.receiveUntilClosed(timeout: 3)
                return (closed, started, Date())
            }
            // Meanwhile a delivery goes through, long before the slow clients are cut (compared
            // by order, not by a duration, so a loaded machine does not decide the outcome).
            #expect(try await Self.deliver("BookingCreate", port: port) == "HTTP/1.1 200 OK")
            let delivered = Date()

            let (headText, headClosed, headStarted, headCut) = try await trickledHead
            #expect(statusLines(headText) == ["HTTP/1.1 408 Request Timeout"])
            #expect(headClosed)
            #expect(delivered < headCut)
            let headSeconds = headCut.timeIntervalSince(headStarted)
            #expect(headSeconds >= timeout - 0.5 && headSeconds < timeout + 3, "cut after \(headSeconds) s")
            let (bodyClosed, bodyStarted, bodyCut) = try await trickledBody
            #expect(bodyClosed)
            #expect(delivered < bodyCut)
            let bodySeconds = bodyCut.timeIntervalSince(bodyStarted)
            #expect(bodySeconds >= timeout - 0.5 && bodySeconds < timeout + 3, "cut after \(bodySeconds) s")
            // The trickled delivery was never acknowledged, so nothing of it is in the log.
            #expect(try receiver.strings("SELECT action FROM events") == ["BookingCreate"])
        }
    }

    @Test func aThousandIdleConnectionsDoNotStopDeliveries() async throws {
        raiseOpenFileLimit()
        let receiver = try Receiver()
        try await receiver.serving { port in
            let idle = try await offThread { try (0..<1000).map { _ in try RawSocket(port: port) } }
            let started = ContinuousClock.now
            for fixture in ["CoworkerCreate", "BookingCreate", "TeamCreated"] {
                #expect(try await Self.deliver(fixture, port: port) == "HTTP/1.1 200 OK")
            }
            // Generous, for a loaded machine: held up by the idle connections it would hang until
            // the client's 30 s timeout.
            #expect(ContinuousClock.now - started < .seconds(10))
            // Every idle connection is still served when it finally speaks.
            let last = try #require(idle.last)
            let answer = try await offThread { () -> String in
                try last.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                last.receive(timeout: 3) { $0.contains("\"ok\"") }
                return last.text
            }
            #expect(statusLines(answer) == ["HTTP/1.1 200 OK"])
        }
    }
}
