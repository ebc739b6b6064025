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

    /// What Python's `http.client` (urllib) does: the head in one write, then the whole body,
    /// and only then a read. Bodies far over the socket buffers, so the client's writes finish
    /// only if the server keeps reading after its early 413, `Connection: close` included.
    @Test(arguments: [5 << 20, 64 << 20], [true, false])
    func aClientWritingItsWholeBodyBeforeReadingGetsIts413(size: Int, connectionClose: Bool) async throws {
        let receiver = try Receiver()
        try await receiver.serving { port in
            for chunked in [false, true] {
                let framing = chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(size)"
                let (text, sent, closed) = try await offThread { () -> (String, Bool, Bool) in
                    let socket = try RawSocket(port: port)
                    try socket.send(
                        "POST /webhooks/CoworkerUpdate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "X-Nexudus-Hook-Signature: AB\r\n\(connectionClose ? "Connection: close\r\n" : "")"
                            + "\(framing)\r\n\r\n")
                    let sent = Self.sendBody(size: size, chunked: chunked, on: socket)
                    let closed = socket.receiveUntilClosed(timeout: 30)
                    return (socket.text, sent, closed)
                }
                let label = "\(size >> 20) MiB, \(framing), Connection: close \(connectionClose)"
                #expect(sent, "\(label): the body could not be written whole")
                #expect(statusLines(text) == ["HTTP/1.1 413 Payload Too Large"], "\(label)")
                #expect(text.contains("--max-body-bytes"), "\(label)")
                #expect(closed, "\(label): the connection must end once the body is in")
            }
            #expect(try await Self.deliver("CoworkerCreate", port: port) == "HTTP/1.1 200 OK")
        }
    }

    /// Writes `size` bytes of body (in 64 KiB chunks when `chunked`); false if a write failed.
    static func sendBody(size: Int, chunked: Bool, on socket: RawSocket) -> Bool {
        let piece = [UInt8](repeating: 0x20, count: 1 << 16)
        do {
            var left = size
            while left > 0 {
                let count = min(piece.count, left)
                if chunked { try socket.send(String(count, radix: 16) + "\r\n") }
                try socket.send(count == piece.count ? piece : Array(piece[..<count]))
                if chunked { try socket.send("\r\n") }
                left -= count
            }
            if chunked { try socket.send("0\r\n\r\n") }
            return true
        } catch {
            return false
        }
    }

    /// The drain after an early answer is bounded: a client that keeps sending past
    /// `lingerBytes`, or stops sending, is cut; the answer was still sent before.
    @Test func theDrainAfterAnEarlyAnswerEndsAtItsBounds() async throws {
        let receiver = try Receiver {
            $0.maxBodyBytes = 100_000
            $0.limits.lingerBytes = 1 << 20
            $0.limits.readTimeout = .seconds(1)
        }
        try await receiver.serving { port in
            // Declares 1 GiB and sends it: cut once 1 MiB past the answer has been dropped.
            let (endless, sentWhole) = try await offThread { () -> (String, Bool) in
                let socket = try RawSocket(port: port)
                try socket.send("POST /webhooks/CoworkerUpdate HTTP/1.1\r\nHost: x\r\nContent-Length: \(1 << 30)\r\n\r\n")
                let sent = Self.sendBody(size: 1 << 30, chunked: false, on: socket)
                socket.receiveUntilClosed(timeout: 10)
                return (socket.text, sent)
            }
            #expect(!sentWhole, "a gigabyte was read and dropped")
            #expect(statusLines(endless) == ["HTTP/1.1 413 Payload Too Large"])
            // Declares more than it sends, then goes quiet: cut after --read-timeout (1 s), long
            // before the drain's 30 s. The half-close after the answer reads as an end, so the
            // cut shows only to a write: a probe every 4 s (a byte, which the drain reads, then
            // another, which fails once the server has reset the connection).
            let (quiet, cut) = try await offThread { () -> (String, Bool) in
                let socket = try RawSocket(port: port)
                try socket.send("POST /webhooks/CoworkerUpdate HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n")
                _ = Self.sendBody(size: 200_000, chunked: false, on: socket)
                socket.receiveUntilClosed(timeout: 10)
                for _ in 0..<5 {
                    Thread.sleep(forTimeInterval: 4)
                    guard (try? socket.send([0x20])) != nil else { return (socket.text, true) }
                    Thread.sleep(forTimeInterval: 0.2)
                    guard (try? socket.send([0x20])) != nil else { return (socket.text, true) }
                }
                return (socket.text, false)
            }
            #expect(statusLines(quiet) == ["HTTP/1.1 413 Payload Too Large"])
            #expect(cut, "a client that stopped sending was never cut")
        }
    }

    @Test func slowClientsAreCutAndHoldUpNoOne() async throws {
        let timeout = 4.0
        // Each slow client trickles for 160 × 0.25 s unless cut. The upper bound is half of
        // that: far enough from `timeout` that a loaded machine's late timer (7 s was seen)
        // passes, and still short of a client that was never cut.
        let trickle = 160 * 0.25
        let receiver = try Receiver { $0.limits.readTimeout = .seconds(Int64(timeout)) }
        try await receiver.serving { port in
            // Each returns what it received, whether the server closed, and when.
            async let trickledHead = offThread { () -> (String, Bool, Date, Date) in
                let socket = try RawSocket(port: port)
                let started = Date()
                try socket.send("POST /webhooks/CoworkerCreate HTTP/1.1\r\nHost: x\r\n")
                for index in 0..<160 where !socket.closedByPeer {
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
                for byte in NexudusFixtures.body("CoworkerCreate").prefix(160) where !socket.closedByPeer {
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
            #expect(headSeconds >= timeout - 0.5 && headSeconds < trickle / 2, "cut after \(headSeconds) s")
            let (bodyClosed, bodyStarted, bodyCut) = try await trickledBody
            #expect(bodyClosed)
            #expect(delivered < bodyCut)
            let bodySeconds = bodyCut.timeIntervalSince(bodyStarted)
            #expect(bodySeconds >= timeout - 0.5 && bodySeconds < trickle / 2, "cut after \(bodySeconds) s")
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
