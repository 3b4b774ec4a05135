import BIRDControl
import XCTest

final class BIRDBFDSessionsParserTests: XCTestCase {
    private func parse(_ name: String) throws -> BIRDBFDSessions {
        try BIRDBFDSessions.parse(Fixture.reply(name), time: Fixture.context)
    }

    func testShowBFDSessions() throws {
        let bfd = try parse("show-bfd-sessions.txt")
        XCTAssertEqual(bfd.protocols.map(\.name), ["bfd1"])
        XCTAssertEqual(bfd.protocols[0].isUp, true)
        XCTAssertEqual(bfd.unrecognizedLines, 0)
        let sessions = bfd.sessions
        XCTAssertEqual(sessions.count, 2)
        XCTAssertEqual(sessions[0].address, "192.0.2.202")
        XCTAssertNil(sessions[0].interface)
        XCTAssertEqual(sessions[0].state, .up)
        XCTAssertEqual(sessions[0].sinceText, "08:04:00.533")
        XCTAssertDate(sessions[0].since, Fixture.date("2026-11-30 08:04:00.533"))
        XCTAssertEqual(sessions[0].interval, 0.1)
        XCTAssertEqual(sessions[0].timeout, 0.5)
        XCTAssertEqual(sessions[1].interface, "cap-a")
        XCTAssertEqual(sessions[1].state, .down)
        XCTAssertDate(sessions[1].since, Fixture.date("2026-11-30 08:03:59.780"))
        XCTAssertEqual(sessions[1].interval, 1.0)
        XCTAssertEqual(sessions[1].timeout, 0.0)
    }

    func testAfterPeerDied() throws {
        let sessions = try parse("show-bfd-sessions-after-peer-died.txt").sessions
        XCTAssertEqual(sessions.map(\.state), [.down, .down])
        XCTAssertDate(sessions[0].since, Fixture.date("2026-11-30 08:04:40.769"))
    }

    func testEveryTimeFormat() throws {
        let cases: [(String, String, String)] = [
            ("show-bfd-sessions-timeformat-iso-short.txt", "2026-11-30 08:04:00", "2026-11-30 08:03:59"),
            ("show-bfd-sessions-timeformat-iso-short-ms.txt", "2026-11-30 08:04:00.533", "2026-11-30 08:03:59.780"),
            ("show-bfd-sessions-timeformat-iso-short-us.txt", "2026-11-30 08:04:00.533997", "2026-11-30 08:03:59.780946"),
            ("show-bfd-sessions-timeformat-iso-long.txt", "2026-11-30 08:04:00", "2026-11-30 08:03:59"),
            ("show-bfd-sessions-timeformat-iso-long-ms.txt", "2026-11-30 08:04:00.533", "2026-11-30 08:03:59.780"),
            ("show-bfd-sessions-timeformat-iso-long-us.txt", "2026-11-30 08:04:00.533997", "2026-11-30 08:03:59.780946"),
            ("show-bfd-sessions-timeformat-s.txt", "2026-11-30 08:04:00", "2026-11-30 08:03:59"),
            ("show-bfd-sessions-timeformat-d-m-y-h-m.txt", "2026-11-30 08:04:00", "2026-11-30 08:03:00"),
        ]
        for (name, first, second) in cases {
            let sessions = try parse(name).sessions
            XCTAssertEqual(sessions.count, 2, name)
            XCTAssertDate(sessions[0].since, Fixture.date(first), accuracy: 0.000002)
            XCTAssertDate(sessions[1].since, Fixture.date(second), accuracy: 0.000002)
            XCTAssertEqual(sessions.map(\.interval), [0.1, 1.0], name)
            XCTAssertEqual(sessions.map(\.timeout), [0.5, 0.0], name)
            XCTAssertEqual(sessions.map(\.interface), [nil, "cap-a"], name)
        }
    }

    func testSeveralProtocolsIPv6AndDownProtocol() throws {
        let text = """
        1020-bfd1:
         IP address                Interface  State      Since         Interval  Timeout
         2001:db8:ca::2            cap-a      Init       08:04:00.533    0.100    1.500
         bfd2: is not up
         bfd3:
         IP address                Interface  State      Since         Interval  Timeout
         192.0.2.1                 ---        AdminDown  <error>         0.000    0.000
        0000 

        """
        let bfd = try BIRDBFDSessions.parse(BIRDReply(parsing: Array(text.utf8)), time: Fixture.context)
        XCTAssertEqual(bfd.protocols.map(\.name), ["bfd1", "bfd2", "bfd3"])
        XCTAssertEqual(bfd.protocols.map(\.isUp), [true, false, true])
        XCTAssertEqual(bfd.protocols[0].sessions.first?.address, "2001:db8:ca::2")
        XCTAssertEqual(bfd.protocols[0].sessions.first?.state, .`init`)
        XCTAssertEqual(bfd.protocols[2].sessions.first?.state, .adminDown)
        XCTAssertNil(bfd.protocols[2].sessions.first?.since)
        XCTAssertEqual(bfd.protocols[2].sessions.first?.sinceText, "<error>")
    }

    func testNoBFDProtocolRunningIsEmpty() throws {
        // BIRD 2.0.12 answers a parse-time error when no BFD protocol exists.
        let reply = try BIRDReply(parsing: Array("9001 There is no BFD protocol running\n".utf8))
        XCTAssertEqual(try BIRDBFDSessions.parse(reply), BIRDBFDSessions())
    }

    func testNoBFDProtocolIsADaemonError() throws {
        let reply = try BIRDReply(parsing: Array("8003 No protocols match\n".utf8))
        XCTAssertThrowsError(try BIRDBFDSessions.parse(reply)) { error in
            XCTAssertEqual(error as? BIRDParseError, .daemon(code: 8003, text: "No protocols match"))
        }
    }
}
