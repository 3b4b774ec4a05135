import Foundation
import XCTest
@testable import MeshLab

/// Issue 15 with registry keys: the agents write BIRD's peers from the registry. A node added to a
/// running mesh gets its sessions everywhere without a BIRD restart and without a flap elsewhere;
/// with two reflectors, killing BIRD on one loses no prefix on any client. Read from BIRD, its
/// log and the kernel, not from the agents.
final class LabBGPPeersTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    func bgp(_ n: NodeSpec) -> [BirdProtocol] { LabReflectorTests.bgp(n) }

    func routes(_ n: NodeSpec) -> Set<String> {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "route"]), r.succeeded else { return [] }
        return Set(BirdReplies.routes(r.stdout).filter { $0.proto.hasPrefix(LabNames.bgpProtocolPrefix) }.map(\.prefix))
    }

    func logSize(_ n: NodeSpec) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: n.log(.bird)))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// BGP sessions of `n` that BIRD logged going down since `offset` (the lab's BIRD logs every
    /// state change).
    func wentDown(_ n: NodeSpec, since offset: Int) -> [String] {
        guard let h = FileHandle(forReadingAtPath: n.log(.bird)) else { return [] }
        defer { try? h.close() }
        try? h.seek(toOffset: UInt64(offset))
        let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").filter { $0.contains(": State changed to down") && $0.contains(LabNames.bgpProtocolPrefix) }
            .map { "\(n.name): \($0)" }
    }

    func up(_ args: [String]) throws -> (String, Lab) {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("the agents' peers file") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        try LabHarness.labOK(["up", "--keys", "agent"] + args + agentArgs, stateDir: dir, timeout: 240)
        try LabHarness.labOK(["wait", "converged", "--timeout", "150"], stateDir: dir, timeout: 180)
        return (dir, Lab(stateDir: dir))
    }

    func testAddedNodeGetsItsSessionsWithoutARestartOrAFlap() throws {
        let (dir, lab) = try up(["--nodes", "4"])
        let nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        // bird.conf names no peer: every session comes from the agent's peers file.
        for n in nodes {
            XCTAssertFalse(try String(contentsOfFile: n.birdConf, encoding: .utf8).contains("neighbor"), n.name)
            let peers = try String(contentsOfFile: n.birdPeersFile, encoding: .utf8)
            XCTAssertEqual(peers.components(separatedBy: "protocol bgp ").count - 1, 3, "\(n.name): \(peers)")
        }
        let pids = nodes.map { lab.pid(.bird, $0) }
        let offsets = nodes.map(logSize)
        let start = Date()
        try LabHarness.labOK(["add-node"], stateDir: dir, timeout: 180)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        print(String(format: "*** add-node -> converged with agent-written peers: %.1f s ***", Date().timeIntervalSince(start)))
        let n5 = lab.node(5)
        for n in nodes {
            XCTAssertTrue(bgp(n).contains { $0.name == LabNames.bgpProtocolPrefix + n5.name && $0.established }, "\(n.name): \(bgp(n))")
        }
        XCTAssertEqual(nodes.map { lab.pid(.bird, $0) }, pids, "a BIRD was restarted")
        let downs = zip(nodes, offsets).flatMap { wentDown($0.0, since: $0.1) }
        XCTAssertEqual(downs, [], "sessions went down while node5 joined")
    }

    func testKillingOneOfTwoReflectorsLosesNoPrefixOnAnyClient() throws {
        let (dir, lab) = try up(["--nodes", "5", "--topology", "reflectors", "--reflectors", "2"])
        let nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        let clients = nodes.filter { $0.index > 2 }
        for c in clients {
            XCTAssertEqual(Set(bgp(c).map(\.name)), [LabNames.bgpProtocolPrefix + "node1", LabNames.bgpProtocolPrefix + "node2"], c.name)
        }
        func lacking() -> [String] {
            clients.flatMap { c in
                let have = routes(c)
                return nodes.filter { $0 != c }.flatMap { [$0.prefix4, $0.prefix6] }.filter { !have.contains($0) }.map { "\(c.name) lacks \($0)" }
            }
        }
        XCTAssertEqual(lacking(), [])
        try LabHarness.labOK(["fault", "kill-bird", "node1"], stateDir: dir, timeout: 60)
        // Every client sees its session to node1 go (BIRD notices the TCP reset at once, or the
        // hold time at the latest), and meanwhile and after holds every prefix through node2.
        var missing: [String] = []
        let gone = LabHarness.eventually(45, interval: 0.2) {
            missing += lacking()
            return clients.allSatisfy { c in self.bgp(c).first { $0.name == LabNames.bgpProtocolPrefix + "node1" }?.established == false }
        }
        XCTAssertTrue(gone, "the clients' sessions to the killed reflector stayed Established")
        missing += lacking()
        // node1's own prefixes go with its BIRD; nothing else may.
        let n1 = lab.node(1)
        XCTAssertEqual(Set(missing.filter { !$0.hasSuffix(n1.prefix4) && !$0.hasSuffix(n1.prefix6) }), [])
        try LabHarness.labOK(["fault", "restart-bird", "node1"], stateDir: dir, timeout: 60)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
    }
}
