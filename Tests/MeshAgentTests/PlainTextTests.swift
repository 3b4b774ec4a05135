import XCTest
@testable import MeshAgent

/// The stdlib/POSIX stand-ins for the few Foundation calls the agent made.
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

    func testPlainFileReadsWholeFilesAndNamesErrors() throws {
        let path = NSTemporaryDirectory() + "plainfile-\(getpid()).txt"
        let text = String(repeating: "0123456789abcdef", count: 3000) + "é\n"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        defer { unlink(path) }
        XCTAssertEqual(try PlainFile.text(path), text)
        XCTAssertThrowsError(try PlainFile.read(path, limit: 1000)) { error in
            XCTAssertEqual("\(error)", "File too large")
        }
        XCTAssertThrowsError(try PlainFile.read("/nonexistent-bgpmesh/x")) { error in
            XCTAssertEqual("\(error)", "No such file or directory")
        }
        try Data([0x70, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PlainFile.text(path)) { error in
            XCTAssertEqual("\(error)", "not UTF-8 text")
        }
    }

    func testLogfmtEscapesTheLineFeedOfACRLFPair() {
        let line = StructuredLogHandler.logfmt([("msg", "a\r\nb \"c\" \\")])
        XCTAssertEqual(line, "msg=\"a\r\\nb \\\"c\\\" \\\\\"\n")
    }
}
