import Exposition
import Foundation
import TestSupport
import XCTest

final class GzipTests: XCTestCase {
    func testIsAcceptedTable() {
        let table: [(String?, Bool)] = [
            ("gzip", true), ("GZIP", true), ("x-gzip", true), ("gzip, deflate, br", true),
            ("deflate, gzip;q=1.0, *;q=0.5", true), ("br;q=1.0, gzip;q=0.8", true),
            ("gzip;q=0", false), ("gzip;q=0.000", false), ("gzip;q=0, *", false), ("*", true),
            ("*;q=0", false), ("identity", false), ("deflate, br", false), ("", false), (nil, false),
            ("gzip;q=bogus", false), (" gzip ; q=0.5 ", true),
        ]
        for (header, expected) in table {
            XCTAssertEqual(Gzip.isAccepted(acceptEncoding: header), expected, header ?? "nil")
        }
    }

    func testRoundTrip() throws {
        var generator = SplitMix64(seed: 42)
        let exposition = ExpositionEncoder.encode(GoldenFamilies.all, format: .text004)
        let random = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for input in [[], [0x41], exposition, random, Array(repeating: 0x61, count: 5_000_000)] {
            let compressed = try Gzip.compress(input)
            XCTAssertEqual(Array(compressed.prefix(3)), [0x1F, 0x8B, 0x08], "gzip magic and deflate method")
            XCTAssertEqual(try Gzip.decompress(compressed), input)
        }
        let big = Array(repeating: UInt8(ascii: "x"), count: 1_000_000)
        XCTAssertLessThan(try Gzip.compress(big).count, 10_000)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(big, level: 1)), big)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(big, level: 9)), big)
    }

    func testSystemGunzipReadsOurOutput() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { throw XCTSkip("no /bin/gzip") }
        let input = ExpositionEncoder.encode(GoldenFamilies.all, format: .openMetrics100)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("expo-\(UUID().uuidString).gz")
        try Data(Gzip.compress(input)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(Array(output), input)
    }

    func testErrors() throws {
        XCTAssertThrowsError(try Gzip.compress([1, 2, 3], level: 42)) { error in
            guard case GzipError.zlib(call: "deflateInit2", code: _, message: _) = error else {
                return XCTFail("unexpected \(error)")
            }
        }
        let compressed = try Gzip.compress(Array("hello, mesh".utf8))
        let truncated = Array(compressed.dropLast(6))
        XCTAssertThrowsError(try Gzip.decompress(truncated)) { error in
            XCTAssertEqual(error as? GzipError, .zlib(call: "inflate", code: -5, message: "truncated gzip stream"))
        }
        XCTAssertThrowsError(try Gzip.decompress([]))
        XCTAssertThrowsError(try Gzip.decompress(Array("not gzip at all".utf8))) { error in
            guard case GzipError.zlib(call: "inflate", code: -3, message: let message) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertFalse(message.isEmpty)
            XCTAssertTrue("\(error)".contains("inflate failed (-3)"))
        }
        var corrupt = compressed
        corrupt[corrupt.count - 5] ^= 0xFF // CRC32 trailer
        XCTAssertThrowsError(try Gzip.decompress(corrupt))
    }
}
