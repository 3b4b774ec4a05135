import Foundation
import Glibc
import TestSupport
import XCTest
@testable import HTTPServer

/// Listening, binding errors and graceful shutdown.
final class HTTPServerLifecycleTests: XCTestCase {
    func testBindToPortInUseGivesClearError() throws {
        let (first, port) = try TestServer.start(handler: TestServer.handler)
        defer { TestServer.stop(first) }
        let baseline = TestServer.openDescriptorCount()
        // All or nothing: the first address binds, the second fails, the first must be released.
        let second = HTTPServer(
            configuration: HTTPServerConfiguration(listenAddresses: ["127.0.0.1:0", "127.0.0.1:\(port)"]),
            logger: TestServer.logger, handler: TestServer.handler)
        XCTAssertThrowsError(try second.start()) { error in
            XCTAssertEqual(error as? HTTPServerError, .bind(address: "127.0.0.1:\(port)", errno: EADDRINUSE))
            XCTAssertEqual("\(error)", "cannot listen on 127.0.0.1:\(port): Address already in use (bind, errno 98)")
        }
        XCTAssertEqual(TestServer.openDescriptorCount(), baseline)
        XCTAssertEqual(second.boundAddresses, [])
    }

    func testInvalidListenAddresses() {
        let invalid = ["", "10179", "localhost:10179", "::1:8080", "[::1]", "[::1]:65536", "127.0.0.1:-1",
                       "300.1.1.1:80", "[zz::1]:80", "127.0.0.1:80a", "127.0.0.1:", "[fe80::1%nosuchif0]:80"]
        for address in invalid {
            let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: [address]),
                                    logger: TestServer.logger, handler: TestServer.handler)
            XCTAssertThrowsError(try server.start(), address) { error in
                guard case .invalidListenAddress(let text, let reason) = error as? HTTPServerError else {
                    return XCTFail("\(address): \(error)")
                }
                XCTAssertEqual(text, address)
                XCTAssertFalse(reason.isEmpty)
            }
        }
        let empty = HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: []), logger: TestServer.logger,
                               handler: TestServer.handler)
        XCTAssertThrowsError(try empty.start())
    }

    func testListenAddressForms() throws {
        XCTAssertEqual(try ListenAddress(parsing: ":10179").host, .any)
        XCTAssertEqual(try ListenAddress(parsing: "0.0.0.0:10179").host, .ipv4([0, 0, 0, 0]))
        XCTAssertEqual(try ListenAddress(parsing: "192.0.2.1:10179").host, .ipv4([192, 0, 2, 1]))
        XCTAssertEqual(try ListenAddress(parsing: "[::1]:8080").host, .ipv6(Array(repeating: 0, count: 15) + [1], scopeID: 0))
        XCTAssertEqual(try ListenAddress(parsing: "[fe80::1%1]:8080").host,
                       .ipv6([0xFE, 0x80] + Array(repeating: 0, count: 13) + [1], scopeID: 1))
        XCTAssertEqual(try ListenAddress(parsing: "127.0.0.1:0").port, 0)
    }

    func testMultipleListenersIPv4AndIPv6() throws {
        // No IPv6 loopback is a broken test machine, not a reason to leave the IPv6 listener untested.
        guard ipv6LoopbackAvailable() else {
            return XCTFail("no IPv6 loopback (::1); enable it (sysctl net.ipv6.conf.lo.disable_ipv6=0) to test the IPv6 listener")
        }
        let (server, _) = try TestServer.start({ $0.listenAddresses = ["127.0.0.1:0", "[::1]:0"] }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let bound = server.boundAddresses
        XCTAssertEqual(bound.count, 2)
        XCTAssertTrue(bound[0].hasPrefix("127.0.0.1:"))
        XCTAssertTrue(bound[1].hasPrefix("[::1]:"))
        XCTAssertNotEqual(TestServer.port(of: bound[0]), 0)
        let v6 = try TestClient(port: TestServer.port(of: bound[1]), host: "::1")
        try v6.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(try v6.readResponse().header("X-Remote")?.hasPrefix("[::1]:") ?? false)
    }

    func testAnyAddressIsDualStack() throws {
        let (server, port) = try TestServer.start({ $0.listenAddresses = [":0"] }, handler: TestServer.handler)
        defer { TestServer.stop(server) }
        let bound = server.boundAddresses[0]
        XCTAssertTrue(bound == "[::]:\(port)" || bound == "0.0.0.0:\(port)", bound)
        let v4 = try TestClient(port: port, host: "127.0.0.1")
        try v4.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        let remote = try v4.readResponse().header("X-Remote") ?? ""
        XCTAssertTrue(remote.hasPrefix("127.0.0.1:"), "IPv4-mapped address shown as IPv4: \(remote)")
        if ipv6LoopbackAvailable() && bound.hasPrefix("[::]") {
            let v6 = try TestClient(port: port, host: "::1")
            try v6.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            XCTAssertEqual(try v6.readResponse().status, 200)
        }
    }

    func testStartTwiceAndRestartAfterShutdownFail() throws {
        let (server, _) = try TestServer.start(handler: TestServer.handler)
        XCTAssertThrowsError(try server.start()) { XCTAssertEqual($0 as? HTTPServerError, .alreadyStarted) }
        TestServer.stop(server)
        XCTAssertThrowsError(try server.start()) { XCTAssertEqual($0 as? HTTPServerError, .alreadyShutDown) }
        // Shutdown is idempotent, also before start.
        TestServer.stop(server)
        let never = HTTPServer(configuration: .init(), logger: TestServer.logger, handler: TestServer.handler)
        XCTAssertTrue(TestServer.blocking(timeout: 1) { await never.shutdown(gracePeriod: .seconds(1)) })
    }

    func testShutdownLetsInFlightRequestsFinish() throws {
        let baseline = TestServer.openDescriptorCount()
        let (server, port) = try TestServer.start(handler: TestServer.handler)
        let idle = try TestClient(port: port)
        try idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = try idle.readResponse()
        let busy = try TestClient(port: port)
        let slowBefore = TestServer.slowStarted.load(ordering: .sequentiallyConsistent)
        try busy.send("GET /slow?1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(TestServer.eventually { TestServer.slowStarted.load(ordering: .sequentiallyConsistent) > slowBefore },
                      "the slow request never reached its handler")

        let started = Date()
        let finished = DispatchSemaphore(value: 0)
        Task {
            await server.shutdown(gracePeriod: .seconds(3))
            finished.signal()
        }
        XCTAssertTrue(idle.isClosedByServer(), "idle keep-alive connection is closed at once")
        XCTAssertFalse(busy.hasUnreadInput, "the idle connection was closed only after the in-flight request finished")
        waitUntil("new connections are refused", timeout: .seconds(1)) { (try? TestClient(port: port)) == nil }

        let response = try busy.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "slow 1000")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(finished.wait(timeout: .now() + 3), .success)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.75)
        XCTAssertTrue(busy.isClosedByServer())
        XCTAssertTrue(TestServer.eventually { TestServer.openDescriptorCount() == baseline + 2 }, "only the two client sockets remain")
    }

    func testShutdownForceClosesAfterGracePeriod() throws {
        let (server, port) = try TestServer.start(handler: TestServer.handler)
        let busy = try TestClient(port: port)
        let slowBefore = TestServer.slowStarted.load(ordering: .sequentiallyConsistent)
        try busy.send("GET /slow?3000 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(TestServer.eventually { TestServer.slowStarted.load(ordering: .sequentiallyConsistent) > slowBefore },
                      "the slow request never reached its handler")
        let finishedBefore = TestServer.slowFinished.load(ordering: .sequentiallyConsistent)
        let started = Date()
        XCTAssertTrue(TestServer.blocking(timeout: 3) { await server.shutdown(gracePeriod: .milliseconds(300)) })
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.25)
        XCTAssertEqual(TestServer.slowFinished.load(ordering: .sequentiallyConsistent), finishedBefore,
                       "shutdown waited for the 3 s handler instead of force-closing after the grace period")
        XCTAssertTrue(busy.isClosedByServer())
        XCTAssertEqual(server.activeConnections, 0)
    }

    private func ipv6LoopbackAvailable() -> Bool {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        } == 0
    }
}
