import Foundation
import XCTest
@testable import MeshLab

/// `--topology reflectors` with `--keys manual` (the lab writes the peers files): clients peer with
/// the two reflectors only, still learn every prefix, with the originating node as next hop; an
/// added node joins as a client. Read from BIRD and the kernel, not from the agents.
final class LabReflectorTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    /// The BGP protocols of a node's BIRD (`birdc show protocols`), none when BIRD does not answer.
    static func bgp(_ n: NodeSpec) -> [BirdProtocol] {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"]), r.succeeded else { return [] }
        return BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
    }

    func bgp(_ n: NodeSpec) -> [BirdProtocol] { Self.bgp(n) }

    /// The kernel route of `prefix` in the node's namespace (`ip route show`), one line.
    func kernelRoute(_ n: NodeSpec, _ prefix: String, v6: Bool = false) -> String {
        let r = try? Netns.exec(n.namespace, ["ip"] + (v6 ? ["-6"] : []) + ["route", "show", prefix])
        return (r?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func names(_ nodes: [NodeSpec]) -> Set<String> { Set(nodes.map { LabNames.bgpProtocolPrefix + $0.name }) }

    func checkTopology(_ nodes: [NodeSpec], reflectors: Int, _ when: String) {
        let refl = nodes.filter { $0.index <= reflectors }
        for n in nodes {
            let sessions = bgp(n)
            let want = n.index <= reflectors ? nodes.filter { $0 != n } : refl
            XCTAssertEqual(Set(sessions.map(\.name)), names(want), "\(when): \(n.name)'s BGP protocols")
            XCTAssertTrue(sessions.allSatisfy(\.established), "\(when): \(n.name): \(sessions)")
        }
        // A client learns another client's prefixes through the reflectors, with that client's own
        // overlay address as next hop (the reflector passes it on): traffic goes node to node.
        let clients = nodes.filter { $0.index > reflectors }
        for c in clients {
            for o in clients where o != c {
                let r4 = kernelRoute(c, o.prefix4), r6 = kernelRoute(c, o.prefix6, v6: true)
                XCTAssertTrue(r4.contains("via \(o.overlay4) dev \(LabNames.tincInterface)"), "\(when): \(c.name) -> \(o.prefix4): '\(r4)'")
                XCTAssertTrue(r6.contains("via \(o.overlay6) dev \(LabNames.tincInterface)"), "\(when): \(c.name) -> \(o.prefix6): '\(r6)'")
            }
        }
    }

    func testClientsPeerWithTheReflectorsOnly() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        let dir = LabHarness.newStateDir()
        self.dir = dir
        let up = try LabHarness.labOK(["up", "--nodes", "4", "--keys", "manual", "--topology", "reflectors", "--reflectors", "2"]
                                      + agentArgs, stateDir: dir, timeout: 180)
        XCTAssertTrue(up.stdout.contains("route reflectors node1-node2"), up.stdout)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        let lab = Lab(stateDir: dir)
        var state = try LabState.load(stateDir: dir)
        XCTAssertEqual(state.topology, .reflectors)
        checkTopology(state.specs(stateDir: dir), reflectors: 2, "after up")
        // bird.conf names no peer; the peers file does.
        let n3 = lab.node(3)
        XCTAssertFalse(try String(contentsOfFile: n3.birdConf, encoding: .utf8).contains("neighbor"))
        let st = try LabHarness.status(stateDir: dir)
        XCTAssertEqual(st.nodes.map(\.bgp_expected), [3, 3, 2, 2])

        // An added node is a client: two sessions, and the reflectors take it in without a restart.
        let birdPids = [1, 2, 3, 4].map { lab.pid(.bird, lab.node($0)) }
        try LabHarness.labOK(["add-node"], stateDir: dir, timeout: 180)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        state = try LabState.load(stateDir: dir)
        XCTAssertEqual(state.nodes, [1, 2, 3, 4, 5])
        checkTopology(state.specs(stateDir: dir), reflectors: 2, "after add-node")
        XCTAssertEqual([1, 2, 3, 4].map { lab.pid(.bird, lab.node($0)) }, birdPids, "add-node restarted a BIRD")
        // A client leaves: the reflectors drop its protocol on `birdc configure`.
        try LabHarness.labOK(["remove-node", "node5"], stateDir: dir, timeout: 120)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        checkTopology(try LabState.load(stateDir: dir).specs(stateDir: dir), reflectors: 2, "after remove-node")
    }
}
