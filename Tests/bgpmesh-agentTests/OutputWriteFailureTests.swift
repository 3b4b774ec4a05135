import Foundation
import TestSupport
import XCTest

/// A command whose metrics cannot be written to standard output fails (exit 1, the errno named)
/// instead of exiting 0 with truncated or missing output. /dev/full makes every write fail with
/// ENOSPC, for real, without a reader to race against.
final class OutputWriteFailureTests: XCTestCase {
    static let tincLog = ScrapeOnceGoldenTests.testsDir
        .appendingPathComponent("TincControlTests/Fixtures/tinc10-node1-usr2-usr1-all-reachable.log").path

    /// Runs the agent with stdout on /dev/full; returns its exit status and stderr.
    private func runWithFullStdout(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: ScrapeOnceGoldenTests.agentBinary) else {
            throw ToolFailure(description: "bgpmesh-agent was not built at \(ScrapeOnceGoldenTests.agentBinary); run `swift build --build-tests`")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ScrapeOnceGoldenTests.agentBinary)
        process.arguments = arguments
        let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? full.close() }
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = full
        process.standardError = errors
        try process.run()
        // The agent writes one short line to stderr and exits: reading to the end cannot outlast it.
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard EtcdTestCluster.waitForExit(process, seconds: 30) else {
            kill(process.processIdentifier, SIGKILL)
            throw ToolFailure(description: "bgpmesh-agent \(arguments.joined(separator: " ")) did not exit within 30 s")
        }
        return (process.terminationStatus, text)
    }

    func testParseTincLogFailsWhenStdoutCannotBeWritten() throws {
        let r = try runWithFullStdout(["parse-tinc-log", Self.tincLog])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "bgpmesh-agent: error: cannot write the metrics to standard output: "
                                 + "No space left on device (write, errno 28)\n")
    }

    func testScrapeOnceFailsWhenStdoutCannotBeWritten() throws {
        let dir = ScrapeOnceGoldenTests.testsDir.appendingPathComponent("MeshAgentTests/Fixtures/tinc/node1-tinc").path
        let r = try runWithFullStdout(["scrape-once", "--no-collector.bird", "--no-collector.probe", "--no-collector.process",
                                       "--collector.tinc.dir", dir, "--collector.tinc.pidfile", "/nonexistent-bgpmesh-test/t.pid"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("bgpmesh-agent: error: cannot write the metrics to standard output: "
                                         + "No space left on device (write, errno 28)\n"), r.stderr)
    }
}
