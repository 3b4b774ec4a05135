@testable import BIRDControl
import Foundation
import Glibc
import TestSupport
import XCTest

final class BIRDClientFakeServerTests: XCTestCase {
    /// Replays the captured transcript: banner, `restrict`, then each command's fixture.
    private func transcriptServer() throws -> FakeBIRDServer {
        let replies: [String: [UInt8]] = try [
            "show status": Fixture.bytes("show-status.txt"),
            "show protocols all": Fixture.bytes("show-protocols-all.txt"),
            "show protocols": Fixture.bytes("show-protocols.txt"),
            "show route count table all": Fixture.bytes("show-route-count-table-all.txt"),
            "show memory": Fixture.bytes("show-memory.txt"),
            "show bfd sessions": Fixture.bytes("show-bfd-sessions.txt"),
            "configure": Fixture.bytes("configure.txt"),
        ]
        let banner = try Fixture.bytes("banner.txt"), restrict = try Fixture.bytes("restrict.txt")
        let nonsense = try Fixture.bytes("show-nonsense.txt")
        return try FakeBIRDServer { connection, _ in
            connection.send(banner)
            while let line = connection.readLine() {
                if line == "restrict" { connection.send(restrict); continue }
                connection.send(replies[line] ?? nonsense)
            }
        }
    }

    func testTranscriptReplay() async throws {
        let server = try transcriptServer()
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, restricted: true, timeout: .seconds(5))
        let context = Fixture.context

        let status = try await client.status(time: context)
        XCTAssertEqual(status.version, "2.0.12")
        XCTAssertEqual(status.routerID, "192.0.2.201")
        XCTAssertEqual(client.banner, "BIRD 2.0.12 ready.")

        let protocols = try await client.protocols(all: true, time: context)
        XCTAssertEqual(protocols.protocols.count, 20)
        XCTAssertEqual(protocols["peer_b"]?.channel("ipv4")?.routes?.imported, 4)
        let short = try await client.protocols(all: false, time: context)
        XCTAssertEqual(short["peer_b"]?.bgp?.state, .established)
        let routeCount = try await client.routeCount()
        XCTAssertEqual(routeCount.total?.routes, 26)
        let memory = try await client.memory()
        XCTAssertEqual(memory.total?.effectiveBytes, 276070)
        let bfd = try await client.bfdSessions(time: context)
        XCTAssertEqual(bfd.sessions.count, 2)

        do {
            _ = try await client.configure()
            XCTFail("configure over a restricted session must fail")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8007, text: "Access denied", command: "configure"))
            XCTAssertEqual(error.description, "BIRD refused \"configure\": 8007 Access denied")
        }
        do {
            _ = try await client.command("show nonsense")
            XCTFail("expected a syntax error")
        } catch {
            guard case .daemon(9001, let text, "show nonsense") = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("syntax error"))
        }
        // Daemon errors keep the connection: everything ran over one connection.
        XCTAssertEqual(client.statistics.connects, 1)
        XCTAssertEqual(client.statistics.commands, 8)
        XCTAssertEqual(client.statistics.daemonErrors, 2)
        XCTAssertEqual(client.statistics.failures, 0)
        let reply = try client.commandSync("show status")
        XCTAssertEqual(reply.code, 13)
        client.close()
        XCTAssertFalse(client.isConnected)
    }

    func testUnrestrictedSessionDoesNotSendRestrict() async throws {
        let server = try FakeBIRDServer { connection, _ in
            connection.send("0001 BIRD 2.0.12 ready.\n")
            while let line = connection.readLine() {
                connection.send(line == "restrict" ? "9001 restrict was sent\n" : "0011-peer_b: enabled\n0000 \n")
            }
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, restricted: false)
        let reply = try await client.enable(protocol: "peer_b")
        XCTAssertEqual(reply.texts, ["peer_b: enabled", ""])
    }

    func testServerThatNeverRepliesHitsTheDeadline() async throws {
        let server = try FakeBIRDServer { connection, _ in
            guard connection.greet() else { return }
            connection.waitForClose()  // reads the command, never answers
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .milliseconds(300))
        let started = ContinuousClock.now
        do {
            _ = try await client.command("show status")
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error, .timeout(command: "show status", after: .milliseconds(300)))
        }
        let elapsed = ContinuousClock.now - started
        // The .timeout above is the deadline firing (the server never answers); not before it.
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(290))
        XCTAssertFalse(client.isConnected)
    }

    func testServerThatNeverSendsTheBannerHitsTheDeadline() throws {
        let server = try FakeBIRDServer { connection, _ in connection.waitForClose() }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .milliseconds(200))
        XCTAssertThrowsError(try client.commandSync("show status")) { error in
            XCTAssertEqual(error as? BIRDControlError, .timeout(command: "show status", after: .milliseconds(200)))
        }
    }

    func testGarbageIsMalformed() throws {
        let server = try FakeBIRDServer { connection, _ in
            guard connection.greet() else { return }
            _ = connection.readLine()
            connection.send("HTTP/1.1 400 Bad Request\r\n\r\n")
            connection.waitForClose()
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(2))
        XCTAssertThrowsError(try client.commandSync("show status")) { error in
            XCTAssertEqual(error as? BIRDControlError, .malformed(command: "show status", line: "HTTP/1.1 400 Bad Request\r"))
        }
        XCTAssertFalse(client.isConnected)
    }

    func testBinaryGarbageBanner() throws {
        let server = try FakeBIRDServer { connection, _ in
            connection.send([0xFF, 0x00, 0x17, 0x80, 0x0A])
            connection.waitForClose()
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(2))
        XCTAssertThrowsError(try client.commandSync("show status")) { error in
            guard case BIRDControlError.malformed = error else { return XCTFail("\(error)") }
        }
    }

    func testWrongBannerAndRefusedRestrict() throws {
        let wrongBanner = try FakeBIRDServer { connection, _ in
            connection.send("0000 hello\n")
            connection.waitForClose()
        }
        defer { wrongBanner.stop() }
        XCTAssertThrowsError(try BIRDClient(socketPath: wrongBanner.path).commandSync("show status")) { error in
            XCTAssertEqual(error as? BIRDControlError, .unexpectedReply(command: "<banner>", code: 0, text: "hello"))
        }
        let refused = try FakeBIRDServer { connection, _ in
            connection.send("0001 BIRD 2.0.12 ready.\n")
            _ = connection.readLine()
            connection.send("8007 Access denied\n")
            connection.waitForClose()
        }
        defer { refused.stop() }
        XCTAssertThrowsError(try BIRDClient(socketPath: refused.path).commandSync("show status")) { error in
            XCTAssertEqual(error as? BIRDControlError, .unexpectedReply(command: "restrict", code: 8007, text: "Access denied"))
        }
    }

    func testTruncatedReplyThenEOFIsClosed() throws {
        let partial = Array(try Fixture.bytes("show-protocols-all.txt").prefix(5000))
        let server = try FakeBIRDServer { connection, _ in
            guard connection.greet() else { return }
            _ = connection.readLine()
            connection.send(partial)
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(2))
        XCTAssertThrowsError(try client.commandSync("show protocols all")) { error in
            XCTAssertEqual(error as? BIRDControlError, .closed(command: "show protocols all", receivedBytes: 5000))
        }
    }

    func testReplyOneByteAtATime() throws {
        let bytes = try Fixture.bytes("show-status.txt")
        let server = try FakeBIRDServer { connection, _ in
            for byte in try! Fixture.bytes("banner.txt") { connection.send([byte]) }
            guard connection.readLine() == "restrict" else { return }
            for byte in try! Fixture.bytes("restrict.txt") { connection.send([byte]) }
            while connection.readLine() != nil {
                for byte in bytes {
                    connection.send([byte])
                    usleep(200) // the stimulus: one byte per segment, so every read is short
                }
            }
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(5))
        let reply = try client.commandSync("show status")
        XCTAssertEqual(reply.bytes, bytes)
        XCTAssertEqual(try BIRDStatus.parse(reply).hostname, "vm")
        XCTAssertEqual(try client.commandSync("show status").bytes, bytes)
    }

    func testReplyLargerThanTheLimit() throws {
        let server = try FakeBIRDServer { connection, _ in
            guard connection.greet() else { return }
            _ = connection.readLine()
            let line = "1007-" + String(repeating: "x", count: 1000) + "\n"
            for _ in 0..<200 { connection.send(line) }
            connection.waitForClose()
        }
        defer { server.stop() }
        let client = BIRDClient(configuration: .init(socketPath: server.path, timeout: .seconds(2), maxReplyBytes: 64 * 1024))
        XCTAssertThrowsError(try client.commandSync("show route all")) { error in
            XCTAssertEqual(error as? BIRDControlError, .tooLarge(command: "show route all", limit: 64 * 1024))
        }
    }

    func testMissingSocketIsAConnectError() throws {
        let client = BIRDClient(socketPath: "/tmp/birdctl-test-no-such-\(getpid()).ctl")
        XCTAssertThrowsError(try client.commandSync("show status")) { error in
            guard let error = error as? BIRDControlError, case .connect(_, "connect", ENOENT) = error else { return XCTFail("\(error)") }
        }
        let described = BIRDControlError.connect(path: "/run/bird/bird.ctl", call: "connect", errno: ENOENT).description
        XCTAssertEqual(described, "cannot connect to BIRD at /run/bird/bird.ctl: No such file or directory (connect, errno 2)")
        let long = BIRDClient(socketPath: "/tmp/" + String(repeating: "a", count: 200))
        XCTAssertThrowsError(try long.commandSync("show status")) { error in
            guard case BIRDControlError.invalidPath = error else { return XCTFail("\(error)") }
        }
    }

    func testInvalidCommandsAndArguments() async throws {
        let client = BIRDClient(socketPath: "/nonexistent")
        XCTAssertThrowsError(try client.commandSync("show status\nconfigure")) { error in
            guard case BIRDControlError.invalidArgument = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try client.commandSync(""))
        for bad in ["", "peer b", "1peer", "\"unterminated", "peer;configure", "\"a\"b\""] {
            XCTAssertThrowsError(try BIRDClient.protocolArgument(bad), bad)
        }
        XCTAssertEqual(try BIRDClient.protocolArgument("peer_b"), "peer_b")
        XCTAssertEqual(try BIRDClient.protocolArgument("\"peer_*\""), "\"peer_*\"")
        do {
            _ = try await client.configure(file: "/etc/bird.conf\"; shutdown")
            XCTFail("quote in file name accepted")
        } catch {
            guard case .invalidArgument = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(client.statistics.commands, 0)
    }

    /// A connection that died while idle (BIRD restarted) is replaced transparently once.
    func testStaleConnectionIsReplacedOnce() throws {
        let status = try Fixture.bytes("show-status.txt")
        let server = try FakeBIRDServer { connection, index in
            guard connection.greet() else { return }
            guard connection.readLine() != nil else { return }
            connection.send(status)
            // The first connection dies after one reply; later ones keep serving.
            if index == 0 { return }
            while connection.readLine() != nil { connection.send(status) }
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(2))
        XCTAssertEqual(try client.commandSync("show status").code, 13)
        waitUntil("the server closed the first connection") { server.closed == 1 }
        XCTAssertEqual(try client.commandSync("show status").code, 13)
        XCTAssertEqual(client.statistics.connects, 2)
        XCTAssertEqual(client.statistics.failures, 0)
    }

    /// Serialization: many concurrent callers share one connection, replies never mix.
    func testConcurrentCommandsAreSerialized() async throws {
        let server = try transcriptServer()
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .seconds(5))
        let commands = ["show status", "show memory", "show protocols", "show bfd sessions", "show route count table all"]
        let codes = try await withThrowingTaskGroup(of: (String, Int).self) { group in
            for index in 0..<50 {
                let command = commands[index % commands.count]
                group.addTask { (command, try await client.command(command).code) }
            }
            return try await group.reduce(into: [String: Set<Int>]()) { $0[$1.0, default: []].insert($1.1) }
        }
        XCTAssertEqual(codes, ["show status": [13], "show memory": [0], "show protocols": [0], "show bfd sessions": [0], "show route count table all": [14]])
        XCTAssertEqual(client.statistics.connects, 1)
    }

    /// 200 commands with failures of every kind and reconnects leave no descriptor behind.
    func testNoDescriptorLeaksAcrossFailuresAndReconnects() throws {
        let status = try Fixture.bytes("show-status.txt")
        let partial = Array(try Fixture.bytes("show-protocols-all.txt").prefix(700))
        let server = try FakeBIRDServer { connection, index in
            switch index % 5 {
            case 0:  // healthy for a few commands, then closes
                guard connection.greet() else { return }
                for _ in 0..<3 {
                    guard connection.readLine() != nil else { return }
                    connection.send(status)
                }
            case 1:  // garbage
                guard connection.greet() else { return }
                _ = connection.readLine()
                connection.send("garbage\n")
                connection.waitForClose()
            case 2:  // truncated reply, then EOF
                guard connection.greet() else { return }
                _ = connection.readLine()
                connection.send(partial)
            case 3:  // silent: the client's deadline fires
                guard connection.greet() else { return }
                connection.waitForClose()
            default:  // closes before the banner
                return
            }
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, timeout: .milliseconds(60))
        let missing = BIRDClient(socketPath: server.path + ".missing", timeout: .milliseconds(60))
        _ = try? client.commandSync("show status")
        client.close()
        waitUntil("the server closed every connection it accepted") { server.closed == server.accepted }
        let before = openFileDescriptorCount()
        var successes = 0, failures = 0
        for index in 0..<200 {
            if index % 10 == 9 {
                XCTAssertThrowsError(try missing.commandSync("show status"))
                continue
            }
            do {
                _ = try client.commandSync("show status")
                successes += 1
            } catch {
                failures += 1
            }
        }
        client.close()
        // The server thread closes its side once it notices.
        waitUntil("no descriptor leaked: \(openFileDescriptorCount()) open, \(before) before", timeout: .seconds(2)) {
            openFileDescriptorCount() == before
        }
        XCTAssertGreaterThan(successes, 20)
        XCTAssertGreaterThan(failures, 20)
        XCTAssertGreaterThan(client.statistics.connects, 20)
    }
}
