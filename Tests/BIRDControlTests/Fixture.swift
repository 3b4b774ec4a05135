import BIRDControl
import Foundation
import XCTest

/// Raw bytes captured from BIRD 2.0.12 (see Fixtures/capture-node-a.bird.conf).
enum Fixture {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func reply(_ name: String) throws -> BIRDReply {
        try BIRDReply(parsing: bytes(name))
    }

    /// Every captured reply (the .txt files).
    static func allReplyNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }.sorted()
    }

    static let utc = TimeZone(identifier: "UTC")!

    /// The capture ran on 2026-11-30 around 08:04 UTC; "now" a minute after the last capture.
    static let now = date("2026-11-30 08:05:00")
    static let context = BIRDTimeContext(timeZone: utc, now: now)

    /// A UTC date from `yyyy-MM-dd HH:mm:ss[.SSS...]`.
    static func date(_ text: String, zone: TimeZone = utc) -> Date {
        let parts = text.split(separator: " ")
        let d = parts[0].split(separator: "-").map { Int($0)! }
        let timeParts = parts[1].split(separator: ".")
        let t = timeParts[0].split(separator: ":").map { Int($0)! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let base = calendar.date(from: DateComponents(year: d[0], month: d[1], day: d[2], hour: t[0], minute: t[1], second: t[2]))!
        guard timeParts.count > 1 else { return base }
        let fraction = Double("0." + timeParts[1])!
        return base.addingTimeInterval(fraction)
    }
}

func XCTAssertDate(_ actual: Date?, _ expected: Date, accuracy: TimeInterval = 0.0005, file: StaticString = #filePath, line: UInt = #line) {
    guard let actual else { return XCTFail("date is nil, expected \(expected)", file: file, line: line) }
    XCTAssertEqual(actual.timeIntervalSince1970, expected.timeIntervalSince1970, accuracy: accuracy, "\(actual) != \(expected)", file: file, line: line)
}
