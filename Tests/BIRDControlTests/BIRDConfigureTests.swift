@testable import BIRDControl
import Foundation
import TestSupport
import XCTest

/// `configure check` and `configure` on BIRD 2.0.12's captured replies (Fixtures/capture-configure.sh).
final class BIRDConfigureTests: XCTestCase {
    func testOutcomesOfTheCapturedReplies() throws {
        let cases: [(String, BIRDConfigureOutcome)] = [
            ("configure-check-ok.txt", .ok),
            ("configure-reconfigured.txt", .reconfigured),
            ("configure-in-progress.txt", .inProgress),
            ("configure-queued.txt", .queued),
        ]
        for (name, expected) in cases {
            let reply = try Fixture.reply(name)
            XCTAssertEqual(reply.lines.first?.code, 2, "\(name): 0002 Reading configuration from ... comes first")
            XCTAssertEqual(try BIRDConfigureOutcome.parse(reply, command: "configure"), expected, name)
            XCTAssertTrue(expected.isAccepted, name)
        }
        XCTAssertFalse(BIRDConfigureOutcome.ignored.isAccepted)
    }

    func testRefusedConfigurationIsCode8002WithFileLineAndMessage() throws {
        for name in ["configure-check-error.txt", "configure-error.txt"] {
            let reply = try Fixture.reply(name)
            XCTAssertTrue(reply.isError)
            XCTAssertEqual(reply.code, BIRDConfigureOutcome.configurationErrorCode)
            XCTAssertEqual(reply.finalText, "/tmp/peerscap/peers.conf:1:33 syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN")
        }
    }

    func testAnotherSuccessCodeIsUnexpected() throws {
        let reply = try Fixture.reply("show-status.txt")
        XCTAssertThrowsError(try BIRDConfigureOutcome.parse(reply, command: "configure")) { error in
            guard case .unexpectedReply(command: "configure", code: 13, _) = error as? BIRDControlError else {
                return XCTFail("\(error)")
            }
        }
    }

    /// The client's typed commands over the replayed replies: an OK check, then a refused one.
    func testClientSendsConfigureCheckAndThrowsBIRDsRefusal() async throws {
        let banner = try Fixture.bytes("banner.txt")
        let ok = try Fixture.bytes("configure-check-ok.txt"), refused = try Fixture.bytes("configure-check-error.txt")
        let reconfigured = try Fixture.bytes("configure-reconfigured.txt"), nonsense = try Fixture.bytes("show-nonsense.txt")
        let checks = LockedCounter()
        let server = try FakeBIRDServer { connection, _ in
            connection.send(banner)
            while let line = connection.readLine() {
                switch line {
                case "configure check": connection.send(checks.next() == 0 ? ok : refused)
                case "configure": connection.send(reconfigured)
                default: connection.send(nonsense)
                }
            }
        }
        defer { server.stop() }
        let client = BIRDClient(socketPath: server.path, restricted: false, timeout: .seconds(5))
        let checked = try await client.configureCheck()
        XCTAssertEqual(checked, .ok)
        let applied = try await client.reconfigure()
        XCTAssertEqual(applied, .reconfigured)
        do {
            _ = try await client.configureCheck()
            XCTFail("a refused configuration must throw")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8002, text: "/tmp/peerscap/peers.conf:1:33 syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN",
                                          command: "configure check"))
        }
        XCTAssertEqual(client.statistics.connects, 1, "a refused configuration keeps the connection")
        do {
            _ = try await client.configureCheck(file: "a\"b")
            XCTFail("a quote in the file name must be refused before it is sent")
        } catch {
            guard case .invalidArgument = error else { return XCTFail("\(error)") }
        }
    }
}

/// A counter the fake server's thread bumps.
private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; defer { value += 1 }; return value }
}
