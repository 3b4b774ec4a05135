import BIRDControl
import XCTest

final class BIRDStatusParserTests: XCTestCase {
    func testShowStatusFixture() throws {
        let status = try BIRDStatus.parse(Fixture.reply("show-status.txt"), time: Fixture.context)
        XCTAssertEqual(status.version, "2.0.12")
        XCTAssertEqual(status.routerID, "192.0.2.201")
        XCTAssertEqual(status.hostname, "vm")
        XCTAssertEqual(status.serverTimeText, "2026-11-30 08:04:13.584")
        XCTAssertDate(status.serverTime, Fixture.date("2026-11-30 08:04:13.584"))
        XCTAssertDate(status.lastReboot, Fixture.date("2026-11-30 08:03:59.779"))
        XCTAssertDate(status.lastReconfiguration, Fixture.date("2026-11-30 08:03:59.779"))
        XCTAssertEqual(status.daemonState, .up)
        XCTAssertEqual(status.daemonState.label, "up")
        XCTAssertFalse(status.gracefulRestartRecovery)
    }

    func testDaemonStatesAndGracefulRestart() throws {
        let text = """
        1000-BIRD 2.0.12
        1011-Router ID is 192.0.2.9
         Hostname is lab
         Current server time is 2026-11-30 08:04:13
         Last reboot on 2026-11-30 08:03:59
         Last reconfiguration on <error>
        0024-Graceful restart recovery in progress
           Waiting for 3 channels to recover
           Wait timer is 12.500/240
        0013 Shutdown in progress

        """
        let status = try BIRDStatus.parse(BIRDReply(parsing: Array(text.utf8)), time: Fixture.context)
        XCTAssertEqual(status.daemonState, .shuttingDown)
        XCTAssertEqual(status.daemonState.label, "shutdown")
        XCTAssertDate(status.serverTime, Fixture.date("2026-11-30 08:04:13"))
        XCTAssertNil(status.lastReconfiguration)
        XCTAssertEqual(status.lastReconfigurationText, "<error>")
        XCTAssertTrue(status.gracefulRestartRecovery)
        XCTAssertEqual(status.gracefulRestartWaitingChannels, 3)
        XCTAssertEqual(status.gracefulRestartWaitTimer, BIRDTimer(remaining: 12.5, configured: 240))

        let reconfiguring = try BIRDStatus.parse(BIRDReply(parsing: Array("1000-BIRD 2.0.12\n0013 Reconfiguration in progress\n".utf8)))
        XCTAssertEqual(reconfiguring.daemonState, .reconfiguring)
        XCTAssertNil(reconfiguring.routerID)
    }

    func testWrongRepliesThrow() throws {
        XCTAssertThrowsError(try BIRDStatus.parse(Fixture.reply("configure.txt"))) { error in
            XCTAssertEqual(error as? BIRDParseError, .daemon(code: 8007, text: "Access denied"))
        }
        XCTAssertThrowsError(try BIRDStatus.parse(Fixture.reply("show-memory.txt"))) { error in
            guard case BIRDParseError.unexpectedReply = error else { return XCTFail("\(error)") }
        }
    }
}
