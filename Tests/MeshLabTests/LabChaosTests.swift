import Foundation
import XCTest
@testable import MeshLab

/// Issue 16 in the lab: `status` answers within about 2 s while daemons are stopped, and a
/// 2-minute `bgpmesh-lab chaos --seed 1` run on 3 nodes keeps every invariant and leaves no fault
/// behind.
final class LabChaosTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        dir = nil
        super.tearDown()
    }

    /// `status --json` timed from outside, as the chaos runner and a user see it.
    func timedStatus(_ dir: String) throws -> (LabStatus, Double) {
        let t0 = Date()
        let st = try LabHarness.status(stateDir: dir)
        return (st, Date().timeIntervalSince(t0))
    }

    func testStatusIsQuickAndAShortChaosRunKeepsEveryInvariant() throws {
        try LabHarness.requireLabEnvironment()
        let agent = try LabHarness.agentArguments()
        guard agent.first == "--agent-binary" else { throw LabHarness.agentsAbsent("the chaos run checks the agents") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        // Agent-managed keys, as `make chaos` and a real mesh: the agents write every host file,
        // ConnectTo line and BIRD peers file from the registry, so the run checks their repairs
        // (a garbled host file, an isolated node that must remove nothing) as well as the daemons'.
        try LabHarness.labOK(["up", "--nodes", "3"] + agent, stateDir: dir, timeout: 180)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120", "--quiet"], stateDir: dir, timeout: 150)
        let lab = Lab(stateDir: dir)

        // status while tincd and BIRD are stopped: within about 2 s (3 s with the process start),
        // naming the stopped daemons instead of waiting for them.
        try LabHarness.labOK(["fault", "pause-tincd", "node2"], stateDir: dir)
        try LabHarness.labOK(["fault", "pause-bird", "node3"], stateDir: dir)
        let (paused, took) = try timedStatus(dir)
        try LabHarness.labOK(["fault", "resume-tincd", "node2"], stateDir: dir)
        try LabHarness.labOK(["fault", "resume-bird", "node3"], stateDir: dir)
        XCTAssertLessThan(took, 3.0, "status took \(took) s with a stopped tincd and a stopped BIRD")
        XCTAssertFalse(paused.converged)
        XCTAssertTrue(paused.missing.contains { $0.hasPrefix("node2: tincd is stopped") }, "\(paused.missing)")
        XCTAssertTrue(paused.missing.contains { $0.hasPrefix("node3: bird is stopped") }, "\(paused.missing)")
        try LabHarness.labOK(["wait", "converged", "--timeout", "60", "--quiet"], stateDir: dir, timeout: 90)

        // The chaos run.
        let json = "\(dir)/chaos.json"
        let r = try LabHarness.lab(["chaos", "--duration", "2m", "--seed", "1", "--json", json], stateDir: dir, timeout: 240)
        print(r.stdout)
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let report = try dec.decode(ChaosReport.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        XCTAssertEqual(report.violations.map(\.message), [], r.stdout)
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        XCTAssertGreaterThanOrEqual(report.steps.count, 2, r.stdout)
        for s in report.steps {
            XCTAssertNil(s.error, "step \(s.step.index) \(s.step.label)")
            XCTAssertNotNil(s.converged_after_heal, "step \(s.step.index) \(s.step.label) never converged after its heal")
        }
        XCTAssertLessThanOrEqual(Date().timeIntervalSince(report.started_at), 120 + 60 + 15, "the run is bounded by its duration and one recovery timeout")

        // No fault left behind: nothing stopped, no netem, no tmpfs, no etcd alarm, no backups.
        let nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        for n in nodes {
            for d in DaemonKind.allCases where d != .etcd || n.isEtcdMember {
                guard let p = lab.pid(d, n) else { XCTFail("\(d.rawValue) on \(n.name) is not running after the run"); continue }
                XCTAssertNotEqual(processState(p), "T", "\(d.rawValue) on \(n.name) is still stopped")
            }
            let q = try Netns.exec(n.namespace, ["tc", "qdisc", "show", "dev", LabNames.underlayInterface])
            XCTAssertFalse(q.stdout.contains("netem"), "\(n.name): \(q.stdout)")
            XCTAssertEqual(lab.fillMounts(n), [], "\(n.name)'s tinc directory is still on a tmpfs")
            let left = ((try? FileManager.default.contentsOfDirectory(atPath: n.faultDir)) ?? []).filter { !$0.hasPrefix("fill-mnt") }
            XCTAssertEqual(left, [], "\(n.name) fault backups left")
        }
        let alarms = try lab.etcdctl(try LabState.load(stateDir: dir).etcdMembers(stateDir: dir), ["alarm", "list"])
        XCTAssertEqual(alarms.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "")
        let (after, _) = try timedStatus(dir)
        XCTAssertTrue(after.converged, "\(after.missing)")
    }
}
