import Foundation
import XCTest
@testable import MeshLab

/// Issue 12, section 1: the agents' state comes from their samplers, not from scrapes. With
/// Prometheus stopped (nobody scrapes `/metrics`), a node is added; node1's `/api/v1/status`
/// must show it probed and its BGP session mapped to it within 10 s of its record appearing.
final class LabSamplerTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    struct Status: Decodable {
        struct Peer: Decodable {
            var name: String
            var probe_up: Bool?
            var probe_loss_ratio: Double?
        }
        struct Session: Decodable {
            var name: String
            var peer: String?
            var neighbor: String?
            var state: String
        }
        var peers: [Peer]
        var sessions: [Session]
    }

    func status(_ lab: Lab, _ n: NodeSpec) -> Status? {
        guard let text = try? lab.httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/api/v1/status") else { return nil }
        return try? JSONDecoder().decode(Status.self, from: Data(text.utf8))
    }

    func testANewNodeIsProbedAndMappedWithNobodyScraping() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw XCTSkip("SKIPPED LOUDLY: this test is about the agents") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        try LabHarness.labOK(["up", "--nodes", "3", "--keys", "agent"] + agentArgs, stateDir: dir, timeout: 180)
        let converged = try LabHarness.lab(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        XCTAssertTrue(converged.succeeded, "the lab did not converge: \(converged.stderr)")
        let lab = Lab(stateDir: dir)
        let node1 = lab.node(1)
        let node4Overlay = lab.node(4).overlay4

        // Stop Prometheus (the monitoring namespace runs it); from here on nothing scrapes the agents.
        let pidfile = lab.monitoring.pidfile("prometheus")
        let prometheus = try XCTUnwrap(Command.readPid(pidfile), "no Prometheus pid in \(pidfile)")
        XCTAssertTrue(Command.isAlive(prometheus), "Prometheus is not running before the test stops it")
        kill(prometheus, SIGTERM)
        XCTAssertTrue(LabHarness.eventually(20, interval: 0.1) { !Command.isAlive(prometheus) }, "Prometheus ignored SIGTERM")
        XCTAssertFalse(lab.httpOK(from: LabNames.monitoringNamespace, "\(lab.monitoring.prometheusURL)/-/ready"), "Prometheus still answers")

        // add-node runs in the background; the record's appearance in etcd starts the clock.
        let key = LabNames.registryPrefix + "nodes/node4"
        let added = DispatchGroup()
        nonisolated(unsafe) var addResult: CommandResult?
        added.enter()
        Thread.detachNewThread {
            addResult = try? LabHarness.lab(["add-node"], stateDir: dir, timeout: 180)
            added.leave()
        }
        var recordAt: Date?
        let deadline = Date().addingTimeInterval(180)
        while recordAt == nil && Date() < deadline {
            if let r = try? lab.etcdctl(["get", "--print-value-only", key]), r.succeeded,
               !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                recordAt = Date()
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let appeared = try XCTUnwrap(recordAt, "node4's record never appeared in etcd")

        // node1's status: node4 probed, and a BGP session mapped to node4.
        var last: Status?
        var seenAt: Date?
        while seenAt == nil && Date().timeIntervalSince(appeared) < 10 {
            last = status(lab, node1)
            let probed = last?.peers.contains { $0.name == "node4" && $0.probe_up != nil } ?? false
            // Mapped through the neighbor address in BIRD's detailed snapshot, which only the
            // sampler's own reads can bring (nobody scrapes): a name match alone would pass on a
            // stale snapshot, since the lab names each protocol after its peer.
            let mapped = last?.sessions.contains { $0.peer == "node4" && $0.neighbor == node4Overlay } ?? false
            if probed && mapped { seenAt = Date() } else { Thread.sleep(forTimeInterval: 0.2) }
        }
        let took = seenAt.map { $0.timeIntervalSince(appeared) }
        XCTAssertNotNil(took, "10 s after node4's record appeared, node1's status shows peers \(String(describing: last?.peers.map { ($0.name, $0.probe_up) })), sessions \(String(describing: last?.sessions.map { ($0.name, $0.peer, $0.neighbor) }))")
        if let took { print(String(format: "*** Prometheus stopped: node1 probed node4 and mapped its session %.1f s after node4's record appeared ***", took)) }

        XCTAssertEqual(added.wait(timeout: .now() + 180), .success, "add-node did not finish")
        XCTAssertEqual(addResult?.status, 0, "bgpmesh-lab add-node: \(addResult?.stderr ?? "did not run")")
        // And the probe is real: once the mesh reaches node4, node1's probes answer.
        XCTAssertTrue(LabHarness.eventually(120) { self.status(lab, node1)?.peers.contains { $0.name == "node4" && $0.probe_up == true } ?? false },
                      "node1 never got an answer from node4's overlay address: \(String(describing: status(lab, node1)?.peers.map { ($0.name, $0.probe_up) }))")
        XCTAssertFalse(Command.isAlive(prometheus), "Prometheus came back during the test")
    }
}
