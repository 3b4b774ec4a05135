import Foundation
import XCTest
@testable import MeshLab

/// A three-node lab with `--keys manual`: cold start, convergence checked on the daemons, scraping,
/// then every fault and its undo. One lab for the whole class (class tearDown runs `down`).
final class LabConvergenceAndFaultTests: XCTestCase {
    nonisolated(unsafe) static var stateDir: String?
    nonisolated(unsafe) static var setupError: String?
    nonisolated(unsafe) static var agents = false

    /// Brings the shared lab up once, and prints the cold-start time.
    func sharedLab() throws -> (dir: String, lab: Lab, state: LabState) {
        try LabHarness.requireLabEnvironment(allowRunningLab: Self.stateDir != nil)
        if let err = Self.setupError { throw LabHarnessError(err) }
        if Self.stateDir == nil {
            let dir = LabHarness.newStateDir()
            let agentArgs = try LabHarness.agentArguments()
            Self.agents = !agentArgs.contains("--no-agents")
            Self.stateDir = dir
            let start = Date()
            // Repair off: these tests show each fault's effect, and the lab gives every agent a
            // tincd restart command, so with repair on a killed tincd would be back within a second
            // (LabRepairTests covers that).
            let repairOff = Self.agents ? ["--agent-arg=--repair.mode", "--agent-arg=off"] : []
            let up = try LabHarness.lab(["up", "--nodes", "3", "--keys", "manual"] + agentArgs + repairOff, stateDir: dir, timeout: 180)
            guard up.succeeded else {
                Self.setupError = "bgpmesh-lab up failed: \(up.stderr)"
                throw LabHarnessError(Self.setupError!)
            }
            let wait = try LabHarness.lab(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
            guard wait.succeeded else {
                Self.setupError = "lab did not converge: \(wait.stderr)"
                throw LabHarnessError(Self.setupError!)
            }
            print(up.stdout + wait.stdout)
            print(String(format: "*** MeshLab cold start (3 nodes, --keys manual): up -> converged in %.1f s ***",
                         Date().timeIntervalSince(start)))
        }
        let dir = Self.stateDir!
        let lab = Lab(stateDir: dir)
        return (dir, lab, try LabState.load(stateDir: dir))
    }

    override class func tearDown() {
        if let dir = stateDir {
            _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120)
        }
        super.tearDown()
    }

    // MARK: - Daemon probes

    func birdProtocols(_ n: NodeSpec) -> [BirdProtocol] {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"]), r.succeeded else { return [] }
        return BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
    }

    func birdRoutes(_ n: NodeSpec) -> Set<String> {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "route"]), r.succeeded else { return [] }
        return Set(BirdReplies.routes(r.stdout).filter { $0.proto.hasPrefix(LabNames.bgpProtocolPrefix) }.map(\.prefix))
    }

    func reachable(_ lab: Lab, _ n: NodeSpec) -> Set<String> {
        guard let d = lab.tincDump(n, signal: SIGUSR2), let nodes = TincDump.nodes(d) else { return [] }
        return Set(nodes.filter { $0.reachable && $0.name != n.name }.map(\.name))
    }

    func connections(_ lab: Lab, _ n: NodeSpec) -> [TincDumpConnection]? {
        guard let d = lab.tincDump(n, signal: SIGUSR1) else { return nil }
        return TincDump.connections(d)
    }

    func etcdHealth(_ lab: Lab, _ state: LabState) -> [String: Bool] {
        let members = state.etcdMembers(stateDir: lab.stateDir)
        let r = try? Netns.exec(members[0].namespace,
                                ["etcdctl", "--endpoints", LabTemplates.etcdEndpoints(members: members),
                                 "--dial-timeout=2s", "--command-timeout=3s", "endpoint", "health"], timeout: 20)
        let text = (r?.stdout ?? "") + (r?.stderr ?? "")
        var out: [String: Bool] = [:]
        for m in members { out[m.name] = text.contains("\(m.etcdClientURL) is healthy") }
        return out
    }

    func assertConverged(_ dir: String, _ lab: Lab, _ state: LabState, after what: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try LabHarness.lab(["wait", "converged", "--timeout", "120", "--quiet"], stateDir: dir, timeout: 150)
        XCTAssertEqual(r.status, 0, "no convergence after \(what): \(r.stderr)", file: file, line: line)
    }

    // MARK: - Tests

    /// The value of one series in node1's agent's /metrics, read from the monitoring namespace.
    func agentMetric(_ lab: Lab, _ n: NodeSpec, _ series: String) -> Double? {
        agentMetrics(lab, n)?[series]
    }

    /// Every series of one agent's /metrics (name with labels as written -> value), from one scrape.
    func agentMetrics(_ lab: Lab, _ n: NodeSpec) -> [String: Double]? {
        LabHarness.agentMetrics(lab, n)
    }

    /// tinc's nexthop for `node` in one scrape (`tinc_node_route_info`), nil if not there.
    static func nexthop(_ metrics: [String: Double], node: String) -> String? {
        for key in metrics.keys where key.hasPrefix("tinc_node_route_info{") && key.contains("peer=\"\(node)\"") {
            guard let r = key.range(of: "nexthop=\""), let end = key[r.upperBound...].firstIndex(of: "\"") else { continue }
            return String(key[r.upperBound..<end])
        }
        return nil
    }

    /// Issue 5: the agent's probes and tinc collector see a cut link and a dead tincd.
    ///
    /// The times are measured from just before the `fault` command starts (so they include
    /// running it) to the scrape that first shows the change; scrapes are 0.1 s apart.
    func testAgentSeesACutLinkAndADeadTincd() throws {
        let (dir, lab, state) = try sharedLab()
        guard Self.agents else { throw LabHarness.agentsAbsent("this check") }
        let n1 = lab.node(1)
        func fault(_ args: String...) throws { try LabHarness.labOK(["fault"] + args, stateDir: dir, timeout: 60) }
        func format(_ t: Double?) -> String { t.map { String(format: "%.2f s", $0) } ?? "never" }
        // Without a registry (manual keys) the agent probes BIRD's BGP neighbors, named after their
        // protocols: the lab's peers file names node2's `bgpmesh_node2`.
        XCTAssertTrue(LabHarness.eventually(10) { self.agentMetric(lab, n1, "bgpmesh_peer_up{peer=\"bgpmesh_node2\"}") == 1 })
        XCTAssertTrue(LabHarness.eventually(10) {
            guard let m = self.agentMetrics(lab, n1) else { return false }
            return m["tinc_node_indirect{peer=\"node2\"}"] == 0 && Self.nexthop(m, node: "node2") == "node2"
        }, "node1's agent does not show node2 reached directly before the cut")
        XCTAssertEqual(agentMetric(lab, n1, "tinc_up"), 1)
        // The loss window (60 s) must hold no loss from the cold start, so any loss seen is the cut's.
        XCTAssertTrue(LabHarness.eventually(70, interval: 1) { self.agentMetric(lab, n1, "bgpmesh_peer_loss_ratio{peer=\"bgpmesh_node2\"}") == 0 },
                      "probes to node2 kept losing packets before the cut")

        // Within 5 s of the cut: probe loss to node2, and tinc relaying node2 through node3. The
        // loss shows in the window's ratio: `bgpmesh_peer_up` is 0 only from the lost probe's
        // timeout to the next answer, which can be milliseconds once tinc relays (PingTimeout 1 s).
        let cut = Date()
        try fault("cut-link", "node1", "node2")
        let cutTook = Date().timeIntervalSince(cut)
        var lossAt: Double?, relayedAt: Double?
        _ = LabHarness.eventually(15, interval: 0.1) {
            guard let m = self.agentMetrics(lab, n1) else { return false }
            let t = Date().timeIntervalSince(cut)
            if lossAt == nil, (m["bgpmesh_peer_loss_ratio{peer=\"bgpmesh_node2\"}"] ?? 0) > 0 {
                lossAt = t
            }
            if relayedAt == nil, m["tinc_node_reachable{peer=\"node2\"}"] == 1, m["tinc_node_indirect{peer=\"node2\"}"] == 1,
               Self.nexthop(m, node: "node2") == "node3" {
                relayedAt = t
            }
            return lossAt != nil && relayedAt != nil
        }
        print("*** cut-link node1 node2 (the command took \(format(cutTook))): probe loss after \(format(lossAt)), "
              + "tinc_node_indirect{node2} = 1 with nexthop node3 after \(format(relayedAt)) ***")
        XCTAssertLessThanOrEqual(lossAt ?? .infinity, 5, "node1's agent did not report probe loss to node2 within 5 s")
        XCTAssertLessThanOrEqual(relayedAt ?? .infinity, 5, "node1's agent did not show node2 relayed through node3 within 5 s")

        // After heal-link both come back: probes answer, tinc reaches node2 directly again.
        let heal = Date()
        try fault("heal-link", "node1", "node2")
        var upAt: Double?, directAt: Double?
        _ = LabHarness.eventually(15, interval: 0.1) {
            guard let m = self.agentMetrics(lab, n1) else { return false }
            let t = Date().timeIntervalSince(heal)
            if upAt == nil, m["bgpmesh_peer_up{peer=\"bgpmesh_node2\"}"] == 1 { upAt = t }
            if directAt == nil, m["tinc_node_indirect{peer=\"node2\"}"] == 0, Self.nexthop(m, node: "node2") == "node2" { directAt = t }
            return upAt != nil && directAt != nil
        }
        print("*** heal-link node1 node2: probes answer after \(format(upAt)), tinc reaches node2 directly after \(format(directAt)) ***")
        XCTAssertNotNil(upAt, "probes to node2 did not recover within 15 s of heal-link")
        XCTAssertNotNil(directAt, "node1's agent did not show node2 direct again within 15 s of heal-link")
        try assertConverged(dir, lab, state, after: "heal-link (agent test)")

        try fault("kill-tincd", "node1")
        XCTAssertTrue(LabHarness.eventually(15, interval: 0.5) { self.agentMetric(lab, n1, "tinc_up") == 0 },
                      "tinc_up stayed 1 with tincd dead")
        XCTAssertTrue(lab.httpOK(from: LabNames.monitoringNamespace, "http://\(n1.agentListen)/metrics"), "the scrape must still answer 200")
        XCTAssertEqual(agentMetric(lab, n1, "bgpmesh_scrape_collector_success{collector=\"tinc\"}"), 1)
        try fault("restart-tincd", "node1")
        try assertConverged(dir, lab, state, after: "restart-tincd (agent test)")
        XCTAssertTrue(LabHarness.eventually(15, interval: 0.5) { self.agentMetric(lab, n1, "tinc_up") == 1 })
    }

    func testColdStartConvergesOnTheDaemonsAndIsScraped() throws {
        let (dir, lab, state) = try sharedLab()
        let nodes = state.specs(stateDir: dir)
        XCTAssertEqual(nodes.count, 3)

        let st = try LabHarness.status(stateDir: dir)
        XCTAssertTrue(st.converged, "status --json says not converged: \(st.missing)")
        for row in st.nodes {
            XCTAssertEqual(row.tinc_reachable_peers, 2, row.name)
            XCTAssertEqual(row.bgp_configured, 2, row.name)
            XCTAssertEqual(row.bgp_established, 2, row.name)
            XCTAssertEqual(row.routes, 4, "\(row.name): 2 peers x (IPv4 + IPv6)")
            XCTAssertEqual(row.agent_up, Self.agents, row.name)
        }

        // Every part of the criterion, straight from the daemons.
        for n in nodes {
            let others = nodes.filter { $0 != n }
            XCTAssertEqual(reachable(lab, n), Set(others.map(\.name)), "\(n.name): tinc SIGUSR2 dump")
            let bgp = birdProtocols(n)
            XCTAssertEqual(Set(bgp.map(\.name)), Set(others.map { LabNames.bgpProtocolPrefix + $0.name }), "\(n.name): birdc show protocols")
            XCTAssertTrue(bgp.allSatisfy(\.established), "\(n.name): \(bgp)")
            let routes = birdRoutes(n)
            for o in others {
                XCTAssertTrue(routes.contains(o.prefix4), "\(n.name) lacks \(o.prefix4)")
                XCTAssertTrue(routes.contains(o.prefix6), "\(n.name) lacks \(o.prefix6)")
            }
            // The kernel got the BGP routes: ping-free check that the announced address answers over tinc.
            let r = try Netns.exec(n.namespace, ["ip", "route", "get", others[0].prefix4.replacingOccurrences(of: "/32", with: "")])
            XCTAssertTrue(r.stdout.contains("dev tinc0"), "\(n.name): kernel route \(r.stdout)")
        }
        XCTAssertEqual(etcdHealth(lab, state), ["node1": true, "node2": true, "node3": true])

        // Scraping: every agent's /metrics from the monitoring namespace, and Prometheus says `up`.
        if Self.agents {
            for n in nodes {
                let body = try lab.httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/metrics")
                XCTAssertFalse(body.isEmpty, "\(n.name): empty /metrics")
            }
            var last = ""
            let allUp = LabHarness.eventually(40, interval: 2) {
                guard let j = try? lab.httpGet(from: LabNames.monitoringNamespace,
                                               "\(lab.monitoring.prometheusURL)/api/v1/targets?state=active") else { return false }
                last = j
                return Self.agentTargets(j).count == 3 && Self.agentTargets(j).allSatisfy { $0.1 == "up" }
            }
            XCTAssertTrue(allUp, "Prometheus agent targets not all up: \(Self.agentTargets(last))")
        }
        // The host reaches Prometheus through the loopback forwarder.
        let ready = try Command.run(["curl", "-sf", "--max-time", "3", "http://127.0.0.1:\(LabNames.hostPrometheusPort)/-/ready"])
        XCTAssertTrue(ready.succeeded, "forwarded Prometheus port: \(ready.stderr)")
    }

    func testAddNodeAndRemoveNode() throws {
        let (dir, _, _) = try sharedLab()
        try LabHarness.labOK(["add-node"], stateDir: dir, timeout: 120)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120", "--quiet"], stateDir: dir, timeout: 150)
        let grown = try LabHarness.status(stateDir: dir)
        XCTAssertEqual(grown.nodes.map(\.name), ["node1", "node2", "node3", "node4"])
        XCTAssertTrue(grown.nodes.allSatisfy { $0.tinc_reachable_peers == 3 && $0.bgp_established == 3 && $0.routes == 6 },
                      "\(grown.nodes)")
        let refused = try LabHarness.lab(["remove-node", "node2"], stateDir: dir)
        XCTAssertNotEqual(refused.status, 0, "an etcd member must not be removable")
        try LabHarness.labOK(["remove-node"], stateDir: dir, timeout: 120)
        XCTAssertFalse(Netns.labNamespaces().contains("bml-n4"))
        try LabHarness.labOK(["wait", "converged", "--timeout", "120", "--quiet"], stateDir: dir, timeout: 150)
        let shrunk = try LabHarness.status(stateDir: dir)
        XCTAssertEqual(shrunk.nodes.map(\.name), ["node1", "node2", "node3"])
        XCTAssertTrue(shrunk.nodes.allSatisfy { $0.bgp_configured == 2 && $0.bgp_established == 2 }, "\(shrunk.nodes)")
    }

    static func agentTargets(_ json: String) -> [(String, String)] {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let data = obj["data"] as? [String: Any],
              let active = data["activeTargets"] as? [[String: Any]] else { return [] }
        return active.compactMap { t in
            guard let labels = t["labels"] as? [String: String], labels["job"] == "bgpmesh-agent" else { return nil }
            return (labels["instance"] ?? "?", t["health"] as? String ?? "?")
        }
    }

    func testEveryFaultHasItsEffectAndUndoingItReconverges() throws {
        let (dir, lab, state) = try sharedLab()
        let n1 = lab.node(1), n2 = lab.node(2), n3 = lab.node(3)
        func fault(_ args: String...) throws { try LabHarness.labOK(["fault"] + args, stateDir: dir, timeout: 60) }

        // kill-tincd: the process is gone and the peers lose node2; tinc0 is persistent, so it stays
        // with its addresses (without carrier).
        try fault("kill-tincd", "node2")
        XCTAssertFalse(lab.isRunning(.tincd, n2))
        let link = try Netns.exec(n2.namespace, ["ip", "-o", "addr", "show", "dev", "tinc0"])
        XCTAssertTrue(link.succeeded && link.stdout.contains("\(n2.overlay4)/24"), "the persistent tinc0 lost its address: \(link.stdout)\(link.stderr)")
        XCTAssertTrue(LabHarness.eventually(20) { !self.reachable(lab, n1).contains("node2") }, "node1 still reaches node2")
        try fault("restart-tincd", "node2")
        try assertConverged(dir, lab, state, after: "restart-tincd")

        // kill-bird: node2's socket is dead and node1's session to node2 leaves Established.
        try fault("kill-bird", "node2")
        XCTAssertFalse(lab.isRunning(.bird, n2))
        XCTAssertFalse((try Command.run(["birdc", "-s", n2.birdSocket, "show", "status"])).succeeded)
        XCTAssertTrue(LabHarness.eventually(40) {
            self.birdProtocols(n1).first { $0.name == LabNames.bgpProtocolPrefix + "node2" }?.established == false
        }, "node1's session to node2 stayed Established")
        try fault("restart-bird", "node2")
        try assertConverged(dir, lab, state, after: "restart-bird")

        // kill-etcd: etcdctl reports node3's member unhealthy, the others healthy.
        try fault("kill-etcd", "node3")
        XCTAssertTrue(LabHarness.eventually(15) {
            let h = self.etcdHealth(lab, state); return h["node3"] == false && h["node1"] == true && h["node2"] == true
        }, "etcd health after kill-etcd: \(etcdHealth(lab, state))")
        try fault("restart-etcd", "node3")
        XCTAssertTrue(LabHarness.eventually(30) { self.etcdHealth(lab, state).values.allSatisfy { $0 } },
                      "etcd did not recover: \(etcdHealth(lab, state))")

        // kill-agent: /healthz stops answering; restart brings it back.
        if Self.agents {
            try fault("kill-agent", "node2")
            XCTAssertFalse(lab.isRunning(.agent, n2))
            XCTAssertFalse(lab.httpOK(from: LabNames.monitoringNamespace, "http://\(n2.agentListen)/healthz"))
            try fault("restart-agent", "node2")
            XCTAssertTrue(LabHarness.eventually(20) { lab.httpOK(from: LabNames.monitoringNamespace, "http://\(n2.agentListen)/healthz") })
        }

        // cut-link NODE: node3 is off the underlay; node1 loses it (ping timeout) and BGP follows.
        try fault("cut-link", "node3")
        XCTAssertTrue(LabHarness.eventually(40, interval: 1) { !self.reachable(lab, n1).contains("node3") },
                      "node1 still reaches node3 over a cut link")
        try fault("heal-link")
        try assertConverged(dir, lab, state, after: "heal-link node3")

        // cut-link NODE PEER: the direct meta connection goes; tinc may still relay through node3.
        try fault("cut-link", "node1", "node2")
        XCTAssertTrue(LabHarness.eventually(40, interval: 1) {
            guard let c = self.connections(lab, n1) else { return false }
            return !c.contains { $0.name == "node2" }
        }, "node1 keeps a direct connection to node2 over a cut link")
        try fault("heal-link", "node1", "node2")
        try assertConverged(dir, lab, state, after: "heal-link node1 node2")
        XCTAssertTrue(LabHarness.eventually(40, interval: 1) {
            self.connections(lab, n1)?.contains { $0.name == "node2" } == true
        }, "node1 did not reconnect to node2 directly")

        // delete-host-key: the file is gone and tincd drops its connection to the peer at HUP.
        try fault("delete-host-key", "node1", "node2")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(n1.tincHostsDir)/node2"))
        XCTAssertTrue(LabHarness.eventually(10) {
            self.connections(lab, n1).map { !$0.contains { $0.name == "node2" } } ?? false
        }, "node1 kept its connection to node2 without its host key")
        try fault("restore-host-key", "node1", "node2")
        try assertConverged(dir, lab, state, after: "restore-host-key")
        XCTAssertTrue(LabHarness.eventually(30, interval: 1) {
            self.connections(lab, n1)?.contains { $0.name == "node2" } == true
        }, "node1 did not reconnect to node2 after restore-host-key")

        // drop-connectto: no ConnectTo lines; after a tincd restart node1 dials nobody (tinc 1.0 keeps
        // live connections at HUP), so every connection it has is one its peers made (not to port 655).
        try fault("drop-connectto", "node1")
        let conf = try String(contentsOfFile: n1.tincConf, encoding: .utf8)
        XCTAssertFalse(conf.split(separator: "\n").contains { $0.hasPrefix("ConnectTo") }, conf)
        try fault("restart-tincd", "node1")
        XCTAssertTrue(LabHarness.eventually(40, interval: 1) {
            guard let c = self.connections(lab, n1) else { return false }
            return c.count == 2
        }, "the peers did not connect in to node1")
        XCTAssertEqual(connections(lab, n1)?.filter { $0.port == "655" }.map(\.name) ?? ["?"], [],
                       "node1 made outgoing connections without ConnectTo lines")
        try fault("restore-connectto", "node1")
        let restored = try String(contentsOfFile: n1.tincConf, encoding: .utf8)
        XCTAssertEqual(restored.split(separator: "\n").filter { $0.hasPrefix("ConnectTo") }.count, 2)
        try assertConverged(dir, lab, state, after: "restore-connectto")

        // corrupt-tinc-conf: tinc 1.0 cannot reread its config at HUP and exits.
        try fault("corrupt-tinc-conf", "node3")
        XCTAssertTrue(LabHarness.eventually(10) { !lab.isRunning(.tincd, n3) }, "tincd survived a corrupt tinc.conf")
        let log = try String(contentsOfFile: n3.tincLog, encoding: .utf8)
        XCTAssertTrue(log.contains("Unable to reread configuration file"), "tincd log: \(log.suffix(300))")
        try fault("restore-tinc-conf", "node3")
        try assertConverged(dir, lab, state, after: "restore-tinc-conf")
    }
}
