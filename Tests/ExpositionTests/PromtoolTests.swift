import Exposition
import Foundation
import XCTest

/// Runs Prometheus' own linter on the text 0.0.4 output.
final class PromtoolTests: XCTestCase {
    func testPromtoolAcceptsText004Output() throws {
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        guard let promtool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("!!!!! SKIPPING promtool check: promtool not found in \(candidates) (Debian: apt-get install prometheus) !!!!!")
            throw XCTSkip("promtool not installed: the 0.0.4 output was NOT checked by promtool")
        }
        let output = ExpositionEncoder.encode(GoldenFamilies.all, format: .text004)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("expo-\(UUID().uuidString).prom")
        try Data(output).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        process.standardInput = try FileHandle(forReadingFrom: file)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let report = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        XCTAssertEqual(report, "", "promtool check metrics complained")
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testPromtoolRejectsBrokenInput() throws {
        // Guards the test above against a promtool that accepts anything.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            throw XCTSkip("promtool not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let pipe = Pipe()
        process.standardInput = input
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        input.fileHandleForWriting.write(Data("# TYPE requests counter\nrequests 1\n".utf8))
        try input.fileHandleForWriting.close()
        _ = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
    }
}
