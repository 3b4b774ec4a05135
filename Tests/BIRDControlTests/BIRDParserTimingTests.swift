import BIRDControl
import XCTest

/// Prints how long the parsers take on a benchmark-sized reply. Timing is reported, never
/// asserted (debug builds are several times slower than release).
final class BIRDParserTimingTests: XCTestCase {
    /// `show protocols all` for `count` established BGP sessions, built from the captured peer_b.
    static func bgpProtocolsAll(count: Int) throws -> [UInt8] {
        let fixture = String(decoding: try Fixture.bytes("show-protocols-all.txt"), as: UTF8.self)
        let lines = fixture.split(separator: "\n", omittingEmptySubsequences: false)
        let start = lines.firstIndex { $0.hasPrefix("1002-peer_b ") }!
        let end = lines[start...].firstIndex { $0 == " " }!
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

    func testParseTimingFor1000BGPSessions() throws {
        let bytes = try Self.bgpProtocolsAll(count: 1000)
        let context = Fixture.context
        var best = Duration.seconds(1000)
        var list = BIRDProtocolList()
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let reply = try BIRDReply(parsing: bytes)
            list = try BIRDProtocolList.parse(reply, time: context)
            best = min(best, ContinuousClock.now - started)
        }
        XCTAssertEqual(list.protocols.count, 1000)
        XCTAssertEqual(list["peer_999"]?.channel("ipv4")?.routes?.imported, 4)
        XCTAssertEqual(list.unrecognizedLines, 0)
        print("BIRD parse timing: frame + parse of show protocols all, 1000 BGP sessions, \(bytes.count) bytes: \(best) (best of 5, this build)")
    }
}
