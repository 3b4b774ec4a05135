import XCTest
@testable import MeshLab

/// The lab's topologies, timers and kernel limits for its size, without root.
final class LabScaleTests: XCTestCase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bml-scale-\(getpid())").path

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func protocols(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("protocol bgp ") }.map { String($0.split(separator: " ")[2]) }
    }

    func testReflectorPeersFiles() throws {
        let state = LabState(nodes: Array(1...5), keys: .manual, agentBinary: nil, agentExtraArgs: [],
                             topology: .reflectors, reflectors: 2)
        let specs = state.specs(stateDir: dir)
        XCTAssertEqual(specs.map { state.isReflector($0.index) }, [true, true, false, false, false])
        // A client peers with the two reflectors only, as a plain iBGP neighbour.
        let client = LabTemplates.birdPeersConf(node: specs[3], state: state)
        XCTAssertEqual(protocols(client), ["bgpmesh_node1", "bgpmesh_node2"], client)
        XCTAssertFalse(client.contains("rr client"), client)
        // A reflector peers with everyone; its clients are `rr client` with the shared cluster id,
        // the other reflector is not.
        let reflector = LabTemplates.birdPeersConf(node: specs[0], state: state)
        XCTAssertEqual(protocols(reflector), ["bgpmesh_node2", "bgpmesh_node3", "bgpmesh_node4", "bgpmesh_node5"], reflector)
        let lines = reflector.split(separator: "\n").filter { $0.hasPrefix("protocol bgp ") }
        XCTAssertFalse(lines[0].contains("rr client"), String(lines[0]))
        for l in lines.dropFirst() {
            XCTAssertTrue(l.contains("rr client; rr cluster id \(LabNames.rrClusterID);"), String(l))
        }
        XCTAssertTrue(lines[2].contains("neighbor 198.51.100.4 as 65000;"), String(lines[2]))

        let full = LabState(nodes: Array(1...5), keys: .manual, agentBinary: nil, agentExtraArgs: [], topology: .full, reflectors: 2)
        XCTAssertEqual(full.reflectors, 0, "a full mesh has no reflectors")
        XCTAssertEqual(protocols(LabTemplates.birdPeersConf(node: specs[3], state: full)).count, 4)

        // BIRD accepts both files under the lab's bird.conf.
        guard let bird = Command.which("bird") else { throw XCTSkip("SKIPPED LOUDLY: bird is not installed") }
        for (n, text) in [(specs[0], reflector), (specs[3], client)] {
            try FileManager.default.createDirectory(atPath: n.birdDir, withIntermediateDirectories: true)
            try LabTemplates.birdConf(node: n).write(toFile: n.birdConf, atomically: true, encoding: .utf8)
            try text.write(toFile: n.birdPeersFile, atomically: true, encoding: .utf8)
            let r = try Command.run([bird, "-p", "-c", n.birdConf])
            XCTAssertTrue(r.succeeded, "\(n.name): \(r.stderr)")
        }
    }

    /// With registry keys the agent writes the peers file bird.conf includes; with manual keys the
    /// lab does, and the agent runs without a registry. Role and topology go to every agent.
    func testAgentArgumentsForThePeersFile() {
        func value(_ args: [String], _ flag: String) -> String? { args.firstIndex(of: flag).map { args[$0 + 1] } }
        let state = LabState(nodes: Array(1...4), keys: .agent, agentBinary: "/a", agentExtraArgs: [], topology: .reflectors, reflectors: 2)
        let n1 = NodeSpec(index: 1, stateDir: dir), n3 = NodeSpec(index: 3, stateDir: dir)
        let a1 = AgentCommand.arguments(binary: "/a", node: n1, lab: state, extra: [])
        let a3 = AgentCommand.arguments(binary: "/a", node: n3, lab: state, extra: [])
        XCTAssertEqual(value(a1, "--bird.peers-file"), n1.birdPeersFile)
        XCTAssertEqual(value(a1, "--bird.template"), "bgpmesh")
        XCTAssertEqual(value(a1, "--mesh.asn"), "65000")
        XCTAssertEqual(value(a1, "--mesh.bgp-topology"), "reflectors")
        XCTAssertEqual(value(a1, "--mesh.role"), "reflector")
        XCTAssertEqual(value(a1, "--bird.rr-cluster-id"), LabNames.rrClusterID)
        XCTAssertNil(value(a3, "--mesh.role"), "a client runs with the default role")
        XCTAssertEqual(value(a3, "--mesh.bgp-topology"), "reflectors")
        var manual = state
        manual.keys = .manual
        let m1 = AgentCommand.arguments(binary: "/a", node: n1, lab: manual, extra: [])
        XCTAssertTrue(m1.contains("--no-registry"))
        XCTAssertNil(value(m1, "--bird.peers-file"), "with manual keys the lab owns the peers file")
    }

    /// Manual keys: a full ConnectTo mesh up to 16 nodes, a ring of 3 above (connected, ~3 N edges).
    func testManualConnectToIsARingAbove16Nodes() {
        let small = (1...16).map { NodeSpec(index: $0, stateDir: dir) }
        XCTAssertEqual(LabTemplates.manualConnectTo(node: small[0], nodes: small).count, 15)
        let big = (1...64).map { NodeSpec(index: $0, stateDir: dir) }
        XCTAssertEqual(LabTemplates.manualConnectTo(node: big[0], nodes: big).map(\.name), ["node2", "node3", "node4"])
        XCTAssertEqual(LabTemplates.manualConnectTo(node: big[62], nodes: big).map(\.name), ["node64", "node1", "node2"])
        // Every node is reachable from node1 over the ConnectTo graph (taken both ways, as tinc does).
        var seen: Set<Int> = [1], queue = [1]
        while let i = queue.popLast() {
            let n = big[i - 1]
            let linked = LabTemplates.manualConnectTo(node: n, nodes: big).map(\.index)
                + big.filter { LabTemplates.manualConnectTo(node: $0, nodes: big).contains(n) }.map(\.index)
            for j in linked where seen.insert(j).inserted { queue.append(j) }
        }
        XCTAssertEqual(seen.count, 64)
    }

    func testTimersFollowTheLabSize() {
        let small = LabTimers.forNodes(16), big = LabTimers.forNodes(17)
        XCTAssertEqual(small.tincPingInterval, 1, "the fault tests need a cut link noticed within seconds")
        XCTAssertEqual(small.tincMinDumpInterval, "1s")
        XCTAssertGreaterThan(big.tincPingInterval, small.tincPingInterval)
        XCTAssertGreaterThan(big.scrapeInterval, small.scrapeInterval)
        XCTAssertLessThan(big.scrapeTimeout, big.scrapeInterval)
        XCTAssertLessThan(small.scrapeTimeout, small.scrapeInterval)
        let conf = LabTemplates.tincConf(node: NodeSpec(index: 1, stateDir: dir), connectTo: [], timers: big)
        XCTAssertTrue(conf.contains("PingInterval = \(big.tincPingInterval)\n") && conf.contains("PingTimeout = \(big.tincPingTimeout)\n"), conf)
        // The agent gets the timers of the lab's state.
        var state = LabState(nodes: Array(1...40), keys: .agent, agentBinary: "/a", agentExtraArgs: [])
        XCTAssertEqual(state.timers, big)
        let args = AgentCommand.arguments(binary: "/a", node: NodeSpec(index: 2, stateDir: dir), lab: state, extra: [])
        XCTAssertEqual(args.firstIndex(of: "--collector.probe.interval").map { args[$0 + 1] }, big.probeInterval)
        XCTAssertEqual(args.firstIndex(of: "--collector.tinc.min-dump-interval").map { args[$0 + 1] }, big.tincMinDumpInterval)
        // An added node keeps the timers chosen at `up`.
        state.nodes.append(41)
        XCTAssertEqual(state.timers, big)
        XCTAssertEqual(LabTimers.convergenceTimeout(nodes: 64), 188)
    }

    func testNeighbourTableLimitsCoverTheLab() {
        // 32 nodes hold more entries than the kernel's default gc_thresh3 (1024): the ENOBUFS seen.
        XCTAssertGreaterThan(NeighbourTables.entries(nodes: 32), 1024)
        XCTAssertLessThan(NeighbourTables.entries(nodes: 16), 1024)
        let w = NeighbourTables.wanted(nodes: 65)
        XCTAssertEqual(w.count, 6)
        for fam in ["ipv4", "ipv6"] {
            let t = (1...3).map { w["net.\(fam).neigh.default.gc_thresh\($0)"]! }
            XCTAssertEqual(t[0], NeighbourTables.entries(nodes: 65))
            XCTAssertTrue(t[0] < t[1] && t[1] < t[2], "\(t)")
        }
        XCTAssertNotNil(NeighbourTables.read("net.ipv4.neigh.default.gc_thresh3"), "the sysctl is readable")
    }

    /// A state file of an earlier lab (no topology, timers or sysctls) still loads.
    func testEarlierStateFileLoads() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let json = #"{"agentExtraArgs":[],"keys":"manual","nodes":[1,2,3],"startedAt":"2026-12-01T10:00:00Z","version":1}"#
        try json.write(toFile: "\(dir)/lab.json", atomically: true, encoding: .utf8)
        let s = try LabState.load(stateDir: dir)
        XCTAssertEqual(s.topology, .full)
        XCTAssertEqual(s.reflectors, 0)
        XCTAssertEqual(s.timers, LabTimers.forNodes(3))
        XCTAssertEqual(s.neighbourSysctlsBefore, [:])
        var t = s
        t.topology = .reflectors
        t.reflectors = 1
        t.neighbourSysctlsBefore = ["net.ipv4.neigh.default.gc_thresh3": 1024]
        try t.save(stateDir: dir)
        let back = try LabState.load(stateDir: dir)
        XCTAssertEqual(back.topology, .reflectors)
        XCTAssertEqual(back.neighbourSysctlsBefore, t.neighbourSysctlsBefore)
    }

    func testParallelMapKeepsOrderAndRunsWide() {
        final class InFlight: @unchecked Sendable {
            let lock = NSLock()
            var now = 0, most = 0
            func enter() { lock.lock(); now += 1; most = max(most, now); lock.unlock() }
            func leave() { lock.lock(); now -= 1; lock.unlock() }
        }
        let flight = InFlight()
        let out = parallelMap(32, width: 16) { i -> Int in
            flight.enter()
            usleep(50_000)
            flight.leave()
            return i * i
        }
        XCTAssertEqual(out, (0..<32).map { $0 * $0 })
        // Waiting work overlaps beyond the core count (concurrentPerform would stop at 2 here).
        XCTAssertGreaterThan(flight.most, 2)
        XCTAssertLessThanOrEqual(flight.most, 16)
    }
}
