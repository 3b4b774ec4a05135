import Foundation
@testable import MeshAgent
import XCTest

/// The executor's restart command and its refusals when a client is missing.
final class RepairExecutorTests: XCTestCase {
    func executor(_ command: String?, timeout: Duration = .seconds(5)) -> RepairExecutor {
        RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: command, commandTimeout: timeout)
    }

    func testTheRestartCommandRunsAndItsExitStatusCounts() async throws {
        let marker = NSTemporaryDirectory() + "bgpmesh-restart-\(getpid())"
        defer { unlink(marker) }
        let ok = await executor("touch \(marker)").run(.restartTincd)
        XCTAssertNoThrow(try ok.get())
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker))
        guard case .failure(let failed) = await executor("exit 3").run(.restartTincd) else { return XCTFail("exit 3 succeeded") }
        XCTAssertTrue(failed.description.contains("exited with 3"), failed.description)
    }

    func testAHangingCommandIsKilledAtItsTimeout() async throws {
        let pidFile = NSTemporaryDirectory() + "bgpmesh-hang-\(getpid())"
        defer { unlink(pidFile) }
        // The shell records its pid and becomes the hanging command, so the pid is the one killed.
        guard case .failure(let failure) = await executor("echo $$ > \(pidFile); exec sleep 30", timeout: .milliseconds(300))
            .run(.restartTincd) else {
            return XCTFail("a hanging command succeeded")
        }
        XCTAssertTrue(failure.description.contains("did not finish"), failure.description)
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try XCTUnwrap(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), "pid file: \(text)")
        XCTAssertEqual(kill(pid, 0), -1, "the timed-out command \(pid) is still there: it was not killed and reaped")
        XCTAssertEqual(errno, ESRCH)
    }

    func testTheCommandsOutputIsInTheResult() async {
        guard case .failure(let failed) = await executor("echo cannot start tincd >&2; exit 2").run(.restartTincd) else {
            return XCTFail("exit 2 succeeded")
        }
        XCTAssertTrue(failed.description.contains("exited with 2: cannot start tincd"), failed.description)
        let bird = RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: nil, birdRestartCommand: "echo bird started")
        let started = await bird.run(.restartBIRD)
        XCTAssertEqual(try? started.get(), #"ran "echo bird started": bird started"#)
    }

    func testMissingClientsFailWithAReason() async {
        let e = executor(nil)
        for action in [RepairAction.restartTincd, .tincRetry, .reinstallHostKeys, .bgpRestart("node2"), .restartHungTincd, .restartBIRD,
                       .restartHungBIRD] {
            guard case .failure(let failure) = await e.run(action) else { return XCTFail("\(action) succeeded without a client") }
            XCTAssertFalse(failure.description.isEmpty)
        }
    }
}
