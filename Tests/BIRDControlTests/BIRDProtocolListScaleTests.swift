import BIRDControl
import XCTest

/// The parsers on a benchmark-sized reply: 1000 BGP sessions built from the captured peer_b.
/// Their speed is measured by `make bench-bird` against a real BIRD, not here.
final class BIRDProtocolListScaleTests: XCTestCase {
    /// `show protocols all` for `count` established BGP sessions, built from the captured peer_b.
    static func bgpProtocolsAll(count: Int) throws -> [UInt8] {
        let fixture = String(decoding: try Fixture.bytes("show-protocols-all.txt"), as: UTF8.self)
        let lines = fixture.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("1002-peer_b ") })
        let end = try XCTUnwrap(lines[start...].firstIndex { $0 == " " })
        let block = lines[start...end].joined(separator: "\n") + "\n"
        var text = String(lines[0]) + "\n"
        text.reserveCapacity(block.utf8.count * count + 100)
        for index in 0..<count {
            let name = "peer_\(index)"
            text += block.replacingOccurrences(of: "1002-peer_b     ", with: "1002-" + name.padding(toLength: 11, withPad: " ", startingAt: 0))
        }
        text += "0000 \n"
        return Array(text.utf8)
    }

    func testParses1000BGPSessions() throws {
        let reply = try BIRDReply(parsing: Self.bgpProtocolsAll(count: 1000))
        let list = try BIRDProtocolList.parse(reply, time: Fixture.context)
        XCTAssertEqual(list.protocols.count, 1000)
        XCTAssertEqual(list["peer_0"]?.channel("ipv4")?.routes?.imported, 4)
        XCTAssertEqual(list["peer_999"]?.channel("ipv4")?.routes?.imported, 4)
        XCTAssertEqual(list.unrecognizedLines, 0)
    }
}
