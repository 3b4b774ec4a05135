@testable import EtcdClient
import XCTest

/// The watch stream is cut into lines whatever the chunk boundaries: fed every possible split
/// of a captured stream, the splitter must give the same lines.
final class EtcdLineSplitterTests: XCTestCase {
    private func expectedLines(_ stream: [UInt8]) -> [[UInt8]] {
        stream.split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    private func feed(_ chunks: [ArraySlice<UInt8>]) throws -> [[UInt8]] {
        var splitter = EtcdLineSplitter(maxLineBytes: 1 << 20)
        var lines: [[UInt8]] = []
        for chunk in chunks { lines += try splitter.append(chunk) }
        XCTAssertEqual(splitter.pendingBytes, 0)
        return lines
    }

    func testEveryTwoWaySplitOfACapturedStream() throws {
        let stream = try Fixture.bytes("v3-watch-stream-chunks.bin")
        let expected = expectedLines(stream)
        XCTAssertEqual(expected.count, 4)
        for cut in 0...stream.count {
            let lines = try feed([stream[..<cut], stream[cut...]])
            if lines != expected { return XCTFail("split at \(cut) gave \(lines.count) lines") }
        }
    }

    func testEveryThreeWaySplitAroundLineBoundaries() throws {
        let stream = try Fixture.bytes("v3-watch-stream-chunks.bin")
        let expected = expectedLines(stream)
        let newlines = stream.indices.filter { stream[$0] == UInt8(ascii: "\n") }
        // Every first cut, and a second cut within 3 bytes of each newline.
        for first in 0...stream.count {
            for newline in newlines where newline + 2 >= first {
                for second in max(first, newline - 2)...min(stream.count, newline + 2) {
                    let lines = try feed([stream[..<first], stream[first..<second], stream[second...]])
                    if lines != expected { return XCTFail("splits at \(first), \(second) gave \(lines.count) lines") }
                }
            }
        }
    }

    func testByteAtATimeAndWhole() throws {
        for name in ["v3-watch-stream-chunks.bin", "v3-watch-compacted.bin", "v3-watch-invalid-token.bin", "v3-lease-keepalive.json"] {
            let stream = try Fixture.bytes(name)
            let expected = expectedLines(stream)
            XCTAssertEqual(try feed(stream.indices.map { stream[$0...$0] }), expected, name)
            XCTAssertEqual(try feed([stream[...]]), expected, name)
        }
    }

    func testIncompleteLineWaitsForItsNewline() throws {
        var splitter = EtcdLineSplitter(maxLineBytes: 100)
        XCTAssertEqual(try splitter.append(Array(#"{"result":"#.utf8)), [])
        XCTAssertEqual(splitter.pendingBytes, 10)
        XCTAssertEqual(try splitter.append(Array("{}}\r\n\n{\"a\"".utf8)), [Array(#"{"result":{}}"#.utf8)])
        XCTAssertEqual(try splitter.append(Array(":1}\n".utf8)), [Array(#"{"a":1}"#.utf8)])
    }

    func testOverlongLineThrows() {
        var splitter = EtcdLineSplitter(maxLineBytes: 8)
        XCTAssertNoThrow(try splitter.append(Array("12345".utf8)))
        XCTAssertThrowsError(try splitter.append(Array("6789".utf8))) { error in
            XCTAssertEqual(error as? EtcdLineSplitter.Overflow, EtcdLineSplitter.Overflow(limit: 8))
        }
        var other = EtcdLineSplitter(maxLineBytes: 8)
        XCTAssertThrowsError(try other.append(Array("123456789\n".utf8)))
    }
}
