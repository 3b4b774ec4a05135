import TincControl
import XCTest

/// The 1.0 parser on the generated 64-node full-mesh dump: every node, edge, subnet and
/// connection, nothing unrecognised. Its speed is measured by `make bench-tinc`, not here.
final class TincLogParserScaleTests: XCTestCase {
    func testParses64NodeFullMesh() throws {
        let dump = TincLogParser.parse(try Fixture.bytes("tinc10-64-nodes-full-mesh.generated-from-captured-format.log"))
        XCTAssertEqual(dump.nodes?.count, 64)
        XCTAssertEqual(dump.edges?.count, 64 * 63)
        XCTAssertEqual(dump.subnets?.count, 192)
        XCTAssertEqual(dump.connections?.count, 63)
        XCTAssertEqual(dump.unrecognizedLineCount, 0)
    }
}
