import Foundation
import Glibc
import Synchronization
import TestSupport
import XCTest
@testable import HTTPServer

/// Timeouts, slow and vanishing clients, slow handlers, and many connections at once.
final class HTTPServerRobustnessTests: XCTestCase {
    func testHalfARequestThenSilenceIs408() throws {
        let (server, port) = try TestServer.start({ $0.readTimeout = .milliseconds(400) }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let client = try TestClient(port: port)
        let started = Date()
        try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n")
        let response = try client.readResponse()
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.isClosedByServer())
        // Not before the timeout; that it comes at all is the client's 5 s receive deadline.
        XCTAssertGreaterThan(elapsed, 0.35)
    }

    func testSilentNewConnectionIsClosedWithoutResponse() throws {
        let (server, port) = try TestServer.start({ $0.readTimeout = .milliseconds(300) }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let client = try TestClient(port: port)
        XCTAssertTrue(client.isClosedByServer())
        XCTAssertTrue(TestServer.eventually { server.activeConnections == 0 })
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        let (server, port) = try TestServer.start({ $0.idleTimeout = .milliseconds(300) }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let client = try TestClient(port: port)
        try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        let started = Date()
        XCTAssertTrue(client.isClosedByServer())
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.25)
    }

    func testClientThatNeverReadsIsDroppedAfterWriteTimeout() throws {
        let (server, port) = try TestServer.start({ $0.writeTimeout = .milliseconds(300) }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let client = try TestClient(port: port)
        try client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(TestServer.eventually { server.activeConnections == 1 })
        let started = Date()
        XCTAssertTrue(TestServer.eventually { server.activeConnections == 0 })
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.15)
        withExtendedLifetime(client) {}
    }

    func testSlowlorisIsCutOffWhileOthersAreServed() throws {
        let (server, port) = try TestServer.start({ $0.readTimeout = .seconds(1) }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let slow = try TestClient(port: port)
        let started = Date()
        try slow.send("GET /hello HTTP/1.1\r\nHost: t\r\n")
        let stop = Atomic<Bool>(false)
        let fd = slow.fd
        let dribbler = Thread {
            var index = 0
            while !stop.load(ordering: .relaxed) {
                let line = Array("X-Drip-\(index): y\r\n".utf8)
                if line.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) <= 0 { break }
                index += 1
                usleep(100_000) // the stimulus: a header line every 100 ms
            }
        }
        dribbler.start()
        defer { stop.store(true, ordering: .relaxed) }

        for _ in 0..<5 {
            let fast = try TestClient(port: port)
            try fast.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            XCTAssertEqual(try fast.readResponse().status, 200)
            XCTAssertFalse(slow.hasUnreadInput, "a fast request waited until the dribbling one was answered")
        }
        let response = try slow.readResponse()
        let elapsed = Date().timeIntervalSince(started)
        stop.store(true, ordering: .relaxed)
        XCTAssertEqual(response.status, 408)
        XCTAssertGreaterThan(elapsed, 0.9)
    }

    func testSlowHandlerDoesNotBlockAFastOne() throws {
        let (server, port) = try TestServer.start(handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let slow = try TestClient(port: port)
        let started = Date()
        let slowBefore = TestServer.slowStarted.load(ordering: .sequentiallyConsistent)
        try slow.send("GET /slow?1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(TestServer.eventually { TestServer.slowStarted.load(ordering: .sequentiallyConsistent) > slowBefore },
                      "the slow request never reached its handler")
        let fast = try TestClient(port: port)
        try fast.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try fast.readResponse().status, 200)
        XCTAssertFalse(slow.hasUnreadInput, "the fast request was answered only after the slow one")
        XCTAssertEqual(try slow.readResponse().text, "slow 1000")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.95)
    }

    func testClientVanishingMidResponseLeaksNothing() throws {
        let (server, port) = try TestServer.start(handler: TestServer.handler)
        defer { TestServer.stop(server) }
        // Warm up so lazily created descriptors are in the baseline.
        do {
            let warm = try TestClient(port: port)
            try warm.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try warm.readResponse()
        }
        XCTAssertTrue(TestServer.eventually { server.activeConnections == 0 })
        let baseline = TestServer.openDescriptorCount()

        for _ in 0..<3 {
            let client = try TestClient(port: port)
            try client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            var chunk = [UInt8](repeating: 0, count: 65536)
            XCTAssertGreaterThan(recv(client.fd, &chunk, chunk.count, 0), 0)
            // Closing with unread data sends an RST; the server's next send fails.
        }
        do {
            let other = try TestClient(port: port)
            try other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            XCTAssertEqual(try other.readResponse().text, "hello world")
        }

        XCTAssertTrue(TestServer.eventually { server.activeConnections == 0 }, "active: \(server.activeConnections)")
        XCTAssertTrue(TestServer.eventually { TestServer.openDescriptorCount() == baseline },
                      "descriptors: \(TestServer.openDescriptorCount()) vs \(baseline)")
    }

    func testThousandConcurrentConnections() throws {
        raiseDescriptorLimit(to: 8192)
        let (server, port) = try TestServer.start({ $0.maxConnections = 1100 }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        var clients: [TestClient] = []
        for _ in 0..<1000 {
            let client = try TestClient(port: port, timeout: 20)
            try client.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
            clients.append(client)
        }
        waitUntil("1000 connections are active (now \(server.activeConnections))", timeout: .seconds(10)) { server.activeConnections == 1000 }
        var ok = 0
        for client in clients where (try? client.readResponse().status) == 200 { ok += 1 }
        XCTAssertEqual(ok, 1000)
        XCTAssertEqual(server.activeConnections, 1000, "keep-alive connections stay open")
        clients.removeAll()
        waitUntil("every connection is closed (now \(server.activeConnections))", timeout: .seconds(5)) { server.activeConnections == 0 }
    }

    func testConnectionsAboveTheCapGet503() throws {
        let exchanges = Recorder<HTTPExchange>()
        let (server, port) = try TestServer.start({ $0.maxConnections = 8 }, observer: { exchanges.append($0) },
                                                  handler: TestServer.handler)
        defer { TestServer.stop(server) }
        var clients: [TestClient] = []
        for _ in 0..<20 {
            let client = try TestClient(port: port)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            clients.append(client)
        }
        var statuses: [Int] = []
        for client in clients {
            let response = try client.readResponse()
            statuses.append(response.status)
            if response.status == 503 {
                XCTAssertEqual(response.header("Connection"), "close")
                XCTAssertEqual(response.header("Retry-After"), "1")
                XCTAssertTrue(client.isClosedByServer())
            }
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: 8) + Array(repeating: 503, count: 12))
        XCTAssertEqual(server.activeConnections, 8)
        XCTAssertEqual(exchanges.all.filter { $0.status == 503 }.count, 12)

        // A freed slot is usable again.
        clients.removeFirst()
        XCTAssertTrue(TestServer.eventually { server.activeConnections == 7 })
        let late = try TestClient(port: port)
        try late.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try late.readResponse().status, 200)
    }

    func testListenerSurvivesRunningOutOfDescriptors() throws {
        var quiet = TestServer.logger
        quiet.logLevel = .critical
        let (server, port) = try TestServer.start(logger: quiet, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let clients = try (0..<3).map { _ in try TestClient(unconnectedTo: port) }

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        // The lowest free descriptor number as the limit: accept4 must fail with EMFILE.
        let lowestFree = dup(0)
        close(lowestFree)
        var tight = saved
        tight.rlim_cur = rlim_t(lowestFree)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &tight)
        var connected = true
        for client in clients {
            connected = connected && (try? client.connect()) != nil
            try? client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        }
        usleep(350_000) // the stimulus: the server stays starved of descriptors this long
        let activeWhileStarved = server.activeConnections
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)

        XCTAssertTrue(connected)
        XCTAssertEqual(activeWhileStarved, 0)
        for client in clients {
            XCTAssertEqual(try client.readResponse().status, 200, "served once descriptors are available again")
        }
    }

    private func raiseDescriptorLimit(to wanted: rlim_t) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
