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

    func testAHangingCommandIsKilledAtItsTimeout() async {
        let start = ContinuousClock.now
        guard case .failure(let failure) = await executor("sleep 30", timeout: .milliseconds(300)).run(.restartTincd) else {
            return XCTFail("a hanging command succeeded")
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(3))
        XCTAssertTrue(failure.description.contains("did not finish"), failure.description)
    }

    func testMissingClientsFailWithAReason() async {
        let e = executor(nil)
        for action in [RepairAction.restartTincd, .tincRetry, .reinstallHostKeys, .bgpRestart("node2")] {
            guard case .failure(let failure) = await e.run(action) else { return XCTFail("\(action) succeeded without a client") }
            XCTAssertFalse(failure.description.isEmpty)
        }
    }
}
