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
        // The output is read on another thread, so the 30 s bound holds even when promtool hangs
        // with its output pipe open (a blocking read here would wait for ever).
        let collected = OutputCollector()
        let reader = Thread { collected.finish(output.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        guard EtcdTestCluster.waitForExit(process, seconds: 30) else {
            Glibc.kill(process.processIdentifier, SIGKILL)
            EtcdTestCluster.waitForExit(process, seconds: 5)
            throw ToolFailure(description: "promtool (\(process.executableURL?.path ?? "promtool") check metrics, pid "
                                           + "\(process.processIdentifier)) did not exit within 30 s; killed it")
        }
        // promtool has exited; its output ends once any child holding the pipe is gone too.
        guard let data = collected.wait(seconds: 5) else {
            throw ToolFailure(description: "promtool check metrics exited but its output pipe stayed open for 5 s")
        }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The output of a child, handed from the reading thread to the waiting one.
private final class OutputCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func finish(_ data: Data) {
        condition.lock()
        self.data = data
        condition.broadcast()
        condition.unlock()
    }

    /// The output, or nil when it is not complete within `seconds`.
    func wait(seconds: Double) -> Data? {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while data == nil, condition.wait(until: deadline) {}
        return data
    }
}
