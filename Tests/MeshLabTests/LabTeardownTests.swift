import Foundation
import XCTest
@testable import MeshLab

/// `down` leaves no namespace, no link and no process, after a full `up` and after an `up`
/// killed with SIGKILL halfway through. Runs without agents: teardown does not depend on them.
final class LabTeardownTests: XCTestCase {
    func assertClean(_ dir: String, before: [Int32], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Netns.labNamespaces(), [], "namespaces left", file: file, line: line)
        XCTAssertEqual(Netns.labRootLinks(), [], "links left", file: file, line: line)
        let alive = before.filter(Command.isAlive)
        XCTAssertEqual(alive, [], "processes left: \(alive)", file: file, line: line)
        XCTAssertEqual(LabHarness.pidsMentioning(dir), [], "processes still mention \(dir)", file: file, line: line)
        XCTAssertEqual(LabHarness.labPids(), [], "lab processes left", file: file, line: line)
    }

    func testDownAfterUpLeavesNothing() throws {
        try LabHarness.requireLabEnvironment()
        let dir = LabHarness.newStateDir()
        defer { _ = try? LabHarness.lab(["down"], stateDir: dir); try? FileManager.default.removeItem(atPath: dir) }
        try LabHarness.labOK(["up", "--nodes", "3", "--no-agents"], stateDir: dir, timeout: 180)
        let pids = LabHarness.labPids()
        XCTAssertGreaterThanOrEqual(pids.count, 3 * 2 + 3 + 2 + 1, "tincd+bird per node, 3 etcd, prometheus, alertmanager, forwarder")
        try LabHarness.labOK(["down"], stateDir: dir)
        assertClean(dir, before: pids)
        // Idempotent.
        try LabHarness.labOK(["down"], stateDir: dir)
        assertClean(dir, before: pids)
    }

    func testDownAfterKilledUpLeavesNothing() throws {
        try LabHarness.requireLabEnvironment()
        let dir = LabHarness.newStateDir()
        defer { _ = try? LabHarness.lab(["down"], stateDir: dir); try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: LabHarness.labBinary)
        p.arguments = ["up", "--nodes", "4", "--no-agents", "--state-dir", dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Halfway: tincd runs on every node, and etcd is on its way up.
        let halfway = LabHarness.eventually(60, interval: 0.05) {
            FileManager.default.fileExists(atPath: "\(dir)/node1/run/etcd.pid")
        }
        XCTAssertTrue(halfway, "up never reached etcd")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let pids = LabHarness.labPids()
        XCTAssertFalse(pids.isEmpty, "the killed up should have left daemons behind")
        XCTAssertFalse(Netns.labNamespaces().isEmpty)
        try LabHarness.labOK(["down"], stateDir: dir)
        assertClean(dir, before: pids)
    }

    func testDownWithoutStateSweepsByPrefix() throws {
        try LabHarness.requireLabEnvironment()
        let dir = LabHarness.newStateDir()
        defer { _ = try? LabHarness.lab(["down"], stateDir: dir); try? FileManager.default.removeItem(atPath: dir) }
        try LabHarness.labOK(["up", "--nodes", "2", "--no-agents"], stateDir: dir, timeout: 180)
        let pids = LabHarness.labPids()
        try FileManager.default.removeItem(atPath: dir)
        let other = LabHarness.newStateDir()
        try LabHarness.labOK(["down"], stateDir: other)
        assertClean(dir, before: pids)
        try? FileManager.default.removeItem(atPath: other)
    }
}
