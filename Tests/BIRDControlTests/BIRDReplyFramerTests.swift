@testable import BIRDControl
import TestSupport
import XCTest

final class BIRDReplyFramerTests: XCTestCase {
    func testEveryFixtureFramesIntoOneReply() throws {
        for name in try Fixture.allReplyNames() {
            let bytes = try Fixture.bytes(name)
            let reply = try BIRDReply(parsing: bytes)
            XCTAssertEqual(reply.bytes, bytes, name)
            XCTAssertFalse(reply.lines.last!.continues, name)
            XCTAssertTrue(reply.lines.dropLast().allSatisfy(\.continues), name)
        }
    }

    func testContinuationLinesCarryThePreviousCode() throws {
        let reply = try Fixture.reply("show-protocols.txt")
        XCTAssertEqual(reply.lines.count, 22)
        XCTAssertEqual(reply.lines[0].code, 2002)
        XCTAssertEqual(reply.lines[1].code, 1002)
        XCTAssertEqual(reply.lines[2].code, 1002)  // " direct1 ..." has no code of its own
        XCTAssertEqual(reply.text(of: reply.lines[2]), "direct1    Direct     ---        up     08:03:59.779  ")
        XCTAssertEqual(reply.lines[20].code, 1002)
        XCTAssertEqual(reply.code, 0)
        XCTAssertEqual(reply.finalText, "")
    }

    func testFinalCodesAndTexts() throws {
        let status = try Fixture.reply("show-status.txt")
        XCTAssertEqual(status.code, 13)
        XCTAssertEqual(status.finalText, "Daemon is up and running")
        XCTAssertFalse(status.isError)
        let banner = try Fixture.reply("banner.txt")
        XCTAssertEqual(banner.code, 1)
        XCTAssertEqual(banner.finalText, "BIRD 2.0.12 ready.")
        XCTAssertEqual(try Fixture.reply("restrict.txt").code, 16)
        let denied = try Fixture.reply("configure.txt")
        XCTAssertEqual(denied.code, 8007)
        XCTAssertEqual(denied.finalText, "Access denied")
        XCTAssertTrue(denied.isError)
        let syntax = try Fixture.reply("show-nonsense.txt")
        XCTAssertEqual(syntax.code, 9001)
        XCTAssertEqual(syntax.finalText, "syntax error, unexpected CF_SYM_UNDEFINED")
        XCTAssertEqual(try Fixture.reply("show-route-count.txt").code, 14)
    }

    /// Every fixture split at every position into two reads frames identically.
    func testEverySplitPositionGivesTheSameReply() throws {
        for name in try Fixture.allReplyNames() where !name.hasPrefix("show-protocols-all") {
            let bytes = try Fixture.bytes(name)
            let expected = try BIRDReply(parsing: bytes)
            for split in 0...bytes.count {
                var framer = BIRDReplyFramer()
                framer.append(bytes[..<split])
                var reply = try framer.nextReply()
                if split < bytes.count {
                    XCTAssertNil(reply, "\(name) complete after \(split) of \(bytes.count) bytes")
                    framer.append(bytes[split...])
                    reply = try framer.nextReply()
                }
                XCTAssertEqual(reply, expected, "\(name) split at \(split)")
                XCTAssertEqual(framer.bufferedByteCount, 0)
            }
        }
    }

    /// Large fixtures: many random splits into many reads, checking after every read.
    func testRandomSplitsGiveTheSameReply() throws {
        var generator = SplitMix64(seed: 42)
        for name in ["show-protocols-all.txt", "show-protocols-all-timeformat-t-1-f.txt", "show-protocols-all-peer_b-after-peer-died.txt"] {
            let bytes = try Fixture.bytes(name)
            let expected = try BIRDReply(parsing: bytes)
            for _ in 0..<300 {
                var framer = BIRDReplyFramer()
                var offset = 0
                var reply: BIRDReply?
                while offset < bytes.count {
                    XCTAssertNil(reply)
                    let length = Int(generator.next() % 700) + 1
                    let end = min(bytes.count, offset + length)
                    framer.append(bytes[offset..<end])
                    offset = end
                    reply = try framer.nextReply()
                }
                XCTAssertEqual(reply, expected, name)
            }
        }
    }

    func testFinalLineArrivingInALaterRead() throws {
        var framer = BIRDReplyFramer()
        framer.append(Array("1000-BIRD 2.0.12\n1011-Router ID is 192.0.2.201\n Hostname is vm\n".utf8))
        XCTAssertNil(try framer.nextReply())
        framer.append(Array("0013 Daemon is up".utf8))
        XCTAssertNil(try framer.nextReply(), "no newline yet")
        framer.append(Array(" and running\n".utf8))
        let reply = try XCTUnwrap(framer.nextReply())
        XCTAssertEqual(reply.texts, ["BIRD 2.0.12", "Router ID is 192.0.2.201", "Hostname is vm", "Daemon is up and running"])
        XCTAssertEqual(reply.lines.map(\.code), [1000, 1011, 1011, 13])
    }

    func testTwoRepliesInOneReadAreReturnedOneByOne() throws {
        var framer = BIRDReplyFramer()
        framer.append(try Fixture.bytes("banner.txt") + Fixture.bytes("restrict.txt"))
        XCTAssertEqual(try framer.nextReply()?.code, 1)
        XCTAssertEqual(try framer.nextReply()?.code, 16)
        XCTAssertNil(try framer.nextReply())
    }

    func testSpontaneousLinesAreSkipped() throws {
        var framer = BIRDReplyFramer()
        framer.append(Array("+some log message\n0000 \n".utf8))
        let reply = try XCTUnwrap(framer.nextReply())
        XCTAssertEqual(reply.lines.count, 1)
        XCTAssertEqual(reply.code, 0)
    }

    func testMalformedLinesAreErrors() {
        for garbage in ["HTTP/1.1 200 OK\n", "12\n", "\n", " continuation first\n", "0000x\n", "00a0 x\n", "\u{0}\u{1}\u{2}\u{3}\u{4}\n"] {
            var framer = BIRDReplyFramer()
            framer.append(Array(garbage.utf8))
            XCTAssertThrowsError(try framer.nextReply(), garbage.debugDescription) { error in
                guard case BIRDFramingError.malformedLine = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testReplyLargerThanTheLimit() {
        var framer = BIRDReplyFramer(limit: 1000)
        let line = Array("1007-".utf8) + Array(repeating: UInt8(ascii: "x"), count: 100) + [10]
        var thrown: Error?
        for _ in 0..<20 {
            framer.append(line)
            do { _ = try framer.nextReply() } catch { thrown = error; break }
        }
        XCTAssertEqual(thrown as? BIRDFramingError, .tooLarge(limit: 1000))
        // A line without a newline grows past the limit too.
        var endless = BIRDReplyFramer(limit: 1000)
        endless.append(Array(repeating: UInt8(ascii: "1"), count: 2000))
        XCTAssertThrowsError(try endless.nextReply())
    }

    func testParsingRejectsIncompleteAndTrailingBytes() throws {
        XCTAssertThrowsError(try BIRDReply(parsing: Array("1000-BIRD\n".utf8))) { error in
            XCTAssertEqual(error as? BIRDFramingError, .incomplete(bufferedBytes: 10))
        }
        XCTAssertThrowsError(try BIRDReply(parsing: Array("0000 \nextra".utf8))) { error in
            XCTAssertEqual(error as? BIRDFramingError, .trailingBytes(count: 5))
        }
    }
}
