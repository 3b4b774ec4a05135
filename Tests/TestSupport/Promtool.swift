import Foundation
import Glibc
import XCTest

/// Prometheus' own linter, `promtool check metrics`, for the exposition tests.
public enum Promtool {
    public static let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]

    /// The installed promtool; skips the test, naming the binary, when none is installed.
    public static func path() throws -> String {
        guard let path = candidates.first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("SKIPPED LOUDLY: promtool is not installed (looked for \(candidates.joined(separator: ", ")); "
                          + "apt-get install prometheus); the exposition was NOT linted")
        }
        return path
    }

    /// Runs `promtool check metrics` on `bytes` (bounded: 30 s) and returns its exit status and
    /// everything it printed.
    public static func check(_ bytes: [UInt8]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // promtool reads all of its input before it writes, so writing first cannot deadlock.
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard EtcdTestCluster.waitForExit(process, seconds: 30) else {
            Glibc.kill(process.processIdentifier, SIGKILL)
            throw ToolFailure(description: "promtool check metrics did not exit within 30 s")
        }
        return (process.terminationStatus, text)
    }
}
