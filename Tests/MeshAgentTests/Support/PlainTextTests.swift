import XCTest
@testable import MeshAgent

/// The stdlib stand-ins for the few Foundation calls the agent made (files: POSIXSupportTests).
final class PlainTextTests: XCTestCase {
    func testTrimming() {
        XCTAssertEqual(" \t 10s \t".trimmingSpaces(), "10s")
        XCTAssertEqual("\n10s\n".trimmingSpaces(), "\n10s\n", "line breaks are not spaces")
        XCTAssertEqual("secret\r\n\n".trimmingNewlines(), "secret")
        XCTAssertEqual(" secret ".trimmingNewlines(), " secret ")
        XCTAssertEqual("\n\n".trimmingNewlines(), "")
        XCTAssertEqual("".trimmingSpaces(), "")
    }

    func testNumberText() {
        XCTAssertEqual(NumberText.padded(7, width: 3), "007")
        XCTAssertEqual(NumberText.padded(2026, width: 4), "2026")
        XCTAssertEqual(NumberText.padded(12345, width: 3), "12345")
        XCTAssertEqual(NumberText.padded(-5, width: 3), "-005")
        XCTAssertEqual(NumberText.hex(0x1F, width: 4), "001f")
        XCTAssertEqual(NumberText.fixed(18.2749, decimals: 2), "18.27")
        XCTAssertEqual(NumberText.fixed(0.005, decimals: 2), "0.01")
        XCTAssertEqual(NumberText.fixed(-1.5, decimals: 0), "-2")
        XCTAssertEqual(NumberText.fixed(-0.001, decimals: 2), "0.00")
        XCTAssertEqual(NumberText.fixed(3, decimals: 3), "3.000")
    }

    func testLogfmtEscapesTheLineFeedOfACRLFPair() {
        let line = StructuredLogHandler.logfmt([("msg", "a\r\nb \"c\" \\")])
        XCTAssertEqual(line, "msg=\"a\r\\nb \\\"c\\\" \\\\\"\n")
    }
}
