import Foundation
import TincControl
import XCTest

/// The 1.1 control-socket client against a fake socket replaying synthetic transcripts.
final class TincControlClientTests: XCTestCase {
    private var directory = ""
    private var fake: FakeTincControlSocket?

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("ctl")
    }

    override func tearDown() {
        fake?.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func client(_ transcripts: [String], stall: Bool = false, timeout: Duration = .seconds(3)) throws -> TincControlClient {
        let fake = try FakeTincControlSocket(directory: directory, transcripts: transcripts, stallAfterGreeting: stall)
        self.fake = fake
        return TincControlClient(configuration: .init(net: "bgpmesh", pidfile: fake.pidfilePath, timeout: timeout))
    }

    func testPre18Snapshot() async throws {
        let client = try client(["tinc11-pre18-session.synthetic-from-format-strings.txt"])
        XCTAssertEqual(client.configuration.socketFilePath, directory + "/tinc.bgpmesh.socket")
        let snapshot = try await client.snapshot()
        XCTAssertEqual(fake?.mismatches, [])
        let dump = snapshot.dump
        XCTAssertEqual(dump.dialect, .tinc11pre17)
        XCTAssertEqual(dump.pid, 4242)
        XCTAssertEqual(dump.nodes.count, 4)
        XCTAssertEqual(dump.node("node2")?.udpPingRTTMicroseconds, 1873)
        XCTAssertEqual(dump.node("node2")?.traffic?.inBytes, 15360)
        XCTAssertEqual(dump.myself?.name, "node1")
        XCTAssertEqual(dump.edges.count, 4)
        XCTAssertEqual(dump.subnets.count, 5)
        XCTAssertEqual(dump.connections.count, 3)
        XCTAssertNil(dump.device)
    }

    func testPre16SnapshotHasNoRTT() async throws {
        let snapshot = try await client(["tinc11-pre16-session.synthetic-from-format-strings.txt"]).snapshot()
        XCTAssertEqual(fake?.mismatches, [])
        XCTAssertEqual(snapshot.dump.dialect, .tinc11pre15)
        XCTAssertNil(snapshot.dump.node("node2")?.traffic)
    }

    func testReloadAndItsFailure() async throws {
        let client = try client(["tinc11-pre18-reload-retry-purge.synthetic-from-format-strings.txt",
                                 "tinc11-pre18-reload-fails.synthetic-from-format-strings.txt"])
        try await client.reload()
        do {
            try await client.reload()
            XCTFail("expected a daemon error")
        } catch {
            XCTAssertEqual(error, .daemon(request: "reload", result: 1))
        }
        XCTAssertEqual(fake?.mismatches, [])
    }

    func testWrongCookieIsAHandshakeError() async throws {
        let client = try client(["tinc11-pre18-wrong-cookie.synthetic-from-format-strings.txt"])
        do {
            _ = try await client.dumpNodes()
            XCTFail("expected a handshake error")
        } catch {
            guard case .handshake(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("cookie"), reason)
        }
    }

    func testStalledDaemonTimesOut() async throws {
        let client = try client(["tinc11-pre18-session.synthetic-from-format-strings.txt"], stall: true, timeout: .milliseconds(300))
        do {
            _ = try await client.dumpEdges()
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error, .timeout(request: "dump edges", after: .milliseconds(300)))
        }
    }

    func testMissingSocketAndVersionMismatch() async throws {
        try "4242 \(String(repeating: "ab", count: 32)) 127.0.0.1 port 655\n".write(toFile: directory + "/x.pid", atomically: true, encoding: .utf8)
        var client = TincControlClient(configuration: .init(pidfile: directory + "/x.pid", socketPath: directory + "/none.socket"))
        do {
            try await client.retry()
            XCTFail("expected an error")
        } catch {
            // pid 4242 may or may not exist on this machine: either is a clear typed error.
            switch error {
            case .connect(_, "connect", ENOENT), .notRunning: break
            default: XCTFail("\(error)")
            }
        }
        try "\(getpid())\n".write(toFile: directory + "/x.pid", atomically: true, encoding: .utf8)
        client = TincControlClient(configuration: .init(pidfile: directory + "/x.pid"))
        do {
            try await client.purge()
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error, .wrongVersion(pidfile: directory + "/x.pid", expected: "1.1", found: "1.0"))
        }
    }
}
