import Foundation
import XCTest
@testable import MeshLab

/// Issue 15, the rest of the peers file's life in the lab (registry keys, the agents write BIRD's
/// peers): a removed node's protocols go from every BIRD after the host file's hold and no other
/// session flaps; a peers config BIRD refuses leaves BIRD running on the old one (same process,
/// same sessions), is reported in health and metrics, and is applied once the operator fixes
/// bird.conf. Read from BIRD, the files and its log; the agents' own reports are checked too.
final class LabBGPPeersLifecycleTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    func bgp(_ n: NodeSpec) -> [BirdProtocol] {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"]), r.succeeded else { return [] }
        return BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
    }

    func peersFile(_ n: NodeSpec) -> String { (try? String(contentsOfFile: n.birdPeersFile, encoding: .utf8)) ?? "" }

    func logSize(_ n: NodeSpec) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: n.log(.bird)))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// BGP sessions of `n` that BIRD logged going down since `offset`.
    func wentDown(_ n: NodeSpec, since offset: Int, ignoring: String) -> [String] {
        guard let h = FileHandle(forReadingAtPath: n.log(.bird)) else { return [] }
        defer { try? h.close() }
        try? h.seek(toOffset: UInt64(offset))
        let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").filter {
            $0.contains(": State changed to down") && $0.contains(LabNames.bgpProtocolPrefix) && !$0.contains(ignoring)
        }.map { "\(n.name): \($0)" }
    }

    func statusProblems(_ lab: Lab, _ n: NodeSpec) -> [String] {
        guard let text = try? lab.httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/api/v1/status"),
              let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let health = json["health"] as? [String: Any], let problems = health["problems"] as? [[String: Any]]
        else { return [] }
        return problems.compactMap { $0["kind"] as? String }
    }

    func testARefusedConfigKeepsBIRDOnTheOldOneAndARemovedNodeLeavesAfterTheHold() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("the agents' peers file") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        try LabHarness.labOK(["up", "--nodes", "4", "--keys", "agent"] + agentArgs, stateDir: dir, timeout: 240)
        try LabHarness.labOK(["wait", "converged", "--timeout", "150"], stateDir: dir, timeout: 180)
        let lab = Lab(stateDir: dir)
        let first = [1, 2, 3, 4].map { lab.node($0) }

        // 1. The operator breaks node1's bird.conf (the template is gone); node5 joins. node1's
        // agent writes the new peers, BIRD's `configure check` refuses them, the old file is put
        // back and BIRD keeps running its sessions. Health and metrics say so.
        let n1 = lab.node(1)
        let conf = try String(contentsOfFile: n1.birdConf, encoding: .utf8)
        XCTAssertTrue(conf.contains("template bgp bgpmesh "), conf)
        try conf.replacingOccurrences(of: "template bgp bgpmesh ", with: "template bgp bgpmesh_renamed ")
            .write(toFile: n1.birdConf, atomically: true, encoding: .utf8)
        let before = peersFile(n1)
        let n1Pid = lab.pid(.bird, n1)
        let n1Offset = logSize(n1)
        try LabHarness.labOK(["add-node"], stateDir: dir, timeout: 180)
        let joined = lab.node(5)
        XCTAssertEqual(try LabState.load(stateDir: dir).nodes, [1, 2, 3, 4, 5])
        let joinedProtocol = LabNames.bgpProtocolPrefix + joined.name
        XCTAssertTrue(LabHarness.eventually(90, interval: 0.5) {
            LabHarness.agentMetrics(lab, n1)?["bgpmesh_bird_peers_refused"] == 1
                && self.statusProblems(lab, n1).contains("bird_config_refused")
        }, "node1's agent never reported the refused config: \(statusProblems(lab, n1))")
        XCTAssertEqual(peersFile(n1), before, "the refused peers file was not put back")
        XCTAssertEqual(lab.pid(.bird, n1), n1Pid, "BIRD on node1 did not keep running")
        XCTAssertFalse(bgp(n1).contains { $0.name == joinedProtocol }, "BIRD took the refused config")
        XCTAssertEqual(Set(bgp(n1).filter(\.established).map(\.name)),
                       Set([2, 3, 4].map { LabNames.bgpProtocolPrefix + "node\($0)" }), "node1's sessions did not stay up")
        XCTAssertEqual(wentDown(n1, since: n1Offset, ignoring: joinedProtocol), [], "node1's sessions flapped")
        // The other nodes took the new node in.
        for n in first.dropFirst() {
            XCTAssertTrue(LabHarness.eventually(60) { self.bgp(n).contains { $0.name == joinedProtocol && $0.established } },
                          "\(n.name) never peered with \(joined.name): \(bgp(n).map(\.name))")
        }

        // 2. The operator puts the template back: the agent's retry applies the peers, BIRD same process.
        try conf.write(toFile: n1.birdConf, atomically: true, encoding: .utf8)
        XCTAssertTrue(LabHarness.eventually(120, interval: 0.5) {
            self.bgp(n1).contains { $0.name == joinedProtocol && $0.established }
        }, "node1 never applied the peers after bird.conf was fixed: \(bgp(n1).map(\.name))")
        XCTAssertEqual(lab.pid(.bird, n1), n1Pid, "BIRD on node1 was restarted")
        XCTAssertTrue(LabHarness.eventually(30) { LabHarness.agentMetrics(lab, n1)?["bgpmesh_bird_peers_refused"] == 0 })
        // The status document follows at the next health evaluation (repair.interval).
        XCTAssertTrue(LabHarness.eventually(15) { !self.statusProblems(lab, n1).contains("bird_config_refused") },
                      "node1's health still reports the refused config: \(statusProblems(lab, n1))")
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)

        // 3. remove-node deletes node5's record; its protocol stays for the hold, then goes everywhere.
        let offsets = first.map(logSize)
        let pids = first.map { lab.pid(.bird, $0) }
        try LabHarness.labOK(["remove-node", "node5"], stateDir: dir, timeout: 120)
        let removed = Date()
        let early = first.filter { !peersFile($0).contains("protocol bgp \(joinedProtocol) ") }
        if Date().timeIntervalSince(removed) < 3 {
            XCTAssertEqual(early.map(\.name), [], "node5's protocol went before the hold (2 x registry.alive-ttl)")
        }
        XCTAssertTrue(LabHarness.eventually(90, interval: 0.5) {
            first.allSatisfy { n in !self.bgp(n).contains { $0.name == joinedProtocol } && !self.peersFile(n).contains(joinedProtocol) }
        }, "node5's protocol stayed: \(first.map { "\($0.name): \(bgp($0).map(\.name))" })")
        let held = Date().timeIntervalSince(removed)
        print(String(format: "*** remove-node: node5's protocols gone from every BIRD %.1f s after its record ***", held))
        XCTAssertGreaterThanOrEqual(held, 5, "node5's protocol went before the hold")
        XCTAssertEqual(first.map { lab.pid(.bird, $0) }, pids, "a BIRD was restarted")
        XCTAssertEqual(zip(first, offsets).flatMap { wentDown($0.0, since: $0.1, ignoring: joinedProtocol) }, [], "other sessions flapped")
        for n in first {
            XCTAssertEqual(Set(bgp(n).filter(\.established).map(\.name)),
                           Set(first.filter { $0 != n }.map { LabNames.bgpProtocolPrefix + $0.name }), n.name)
        }
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
    }
}
