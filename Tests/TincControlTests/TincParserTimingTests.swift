import TincControl
import XCTest

/// Prints how long the 1.0 parser takes on the generated 64-node full-mesh dump. Timing is
/// reported, never asserted (debug builds are several times slower than release).
final class TincParserTimingTests: XCTestCase {
    func testParseTimingFor64Nodes() throws {
        let bytes = try Fixture.bytes("tinc10-64-nodes-full-mesh.generated-from-captured-format.log")
        var best = Duration.seconds(1000)
        var parsed: TincLogDump?
        for _ in 0..<5 {
            let started = ContinuousClock.now
            parsed = TincLogParser.parse(bytes)
            best = min(best, ContinuousClock.now - started)
        }
        let dump = try XCTUnwrap(parsed)
        XCTAssertEqual(dump.nodes?.count, 64)
        XCTAssertEqual(dump.edges?.count, 64 * 63)
        XCTAssertEqual(dump.subnets?.count, 192)
        XCTAssertEqual(dump.connections?.count, 63)
        XCTAssertEqual(dump.unrecognizedLineCount, 0)
        print("tinc parse timing: 64-node full-mesh 1.0 log dump, \(bytes.count) bytes: \(best) (best of 5, this build)")
    }
}
