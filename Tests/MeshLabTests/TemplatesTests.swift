import XCTest
@testable import MeshLab

/// The generated configs pass the daemons' own checkers (bird -p, promtool, amtool).
final class TemplatesTests: XCTestCase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bml-templates-\(getpid())").path
    var nodes: [NodeSpec] { (1...4).map { NodeSpec(index: $0, stateDir: dir) } }

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func requireTool(_ name: String) throws -> String {
        guard let path = Command.which(name) else {
            throw XCTSkip("SKIPPED LOUDLY: \(name) is not installed; run scripts/install-deps.sh")
        }
        return path
    }

    func testNodeAddressing() {
        let n = NodeSpec(index: 12, stateDir: "/s")
        XCTAssertEqual(n.underlay, "192.0.2.12")
        XCTAssertEqual(n.overlay4, "198.51.100.12")
        XCTAssertEqual(n.overlay6, "2001:db8::c")
        XCTAssertEqual(n.prefix4, "203.0.113.12/32")
        XCTAssertEqual(n.prefix6, "2001:db8:ff:c::/64")
        XCTAssertEqual(n.namespace, "bml-n12")
        XCTAssertLessThanOrEqual(n.namespace.count, 15)
    }

    func testTincConf() {
        let conf = LabTemplates.tincConf(node: nodes[0], connectTo: nodes)
        XCTAssertTrue(conf.contains("Name = node1\n"))
        XCTAssertTrue(conf.contains("Mode = switch\n"))
        XCTAssertTrue(conf.contains("Interface = tinc0\n"))
        // Fast enough for the cut-link test's 5 s (see LabTemplates).
        XCTAssertTrue(conf.contains("PingInterval = 1\n") && conf.contains("PingTimeout = 1\n"), conf)
        let connectTo = conf.split(separator: "\n").filter { $0.hasPrefix("ConnectTo") }
        XCTAssertEqual(connectTo, ["ConnectTo = node2", "ConnectTo = node3", "ConnectTo = node4"])
        XCTAssertFalse(LabTemplates.tincConf(node: nodes[0], connectTo: []).contains("\nConnectTo"))
        XCTAssertTrue(LabTemplates.tincUp(node: nodes[1]).contains("198.51.100.2/24"))
        XCTAssertTrue(LabTemplates.tincUp(node: nodes[1]).contains("mtu 1400"))
        // A tincd restart runs tinc-up again on the persistent tinc0: it must not fail on addresses
        // that are already there, and tinc-down must not take the interface down.
        XCTAssertFalse(LabTemplates.tincUp(node: nodes[1]).contains("addr add"))
        XCTAssertFalse(LabTemplates.tincDown.contains("ip link"))
        XCTAssertEqual(LabTemplates.tuntapAddArguments(), ["tuntap", "add", "dev", "tinc0", "mode", "tap"])
    }

    /// The restart script is valid sh and stops only this net's tincd: a pidfile naming another
    /// process leaves that process alone (and, without the node's namespace, fails to start tincd).
    func testTincdRestartScriptStopsOnlyThisNetsTincd() throws {
        let n = nodes[1]
        let script = LabTemplates.tincdRestartScript(node: n)
        XCTAssertTrue(script.contains("'\(n.tincPidfile)'") && script.contains("ip netns exec 'bml-n2'"), script)
        XCTAssertTrue(script.contains(LabTemplates.tincdArguments(node: n).map(LabTemplates.shellQuote).joined(separator: " ")))
        try FileManager.default.createDirectory(atPath: n.runDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: n.logDir, withIntermediateDirectories: true)
        let path = "\(dir)/restart-tincd"
        // Never into a namespace here: another lab may be running on this machine (bml-n2 may
        // exist). `false` stands in for `ip netns exec`, so the start fails as without the namespace.
        try script.replacingOccurrences(of: "ip netns exec 'bml-n2'", with: "false")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let syntax = try Command.run(["/bin/sh", "-n", path])
        XCTAssertTrue(syntax.succeeded, syntax.stderr)

        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sleep")
        other.arguments = ["30"]
        try other.run()
        defer { other.terminate(); other.waitUntilExit() }
        try "\(other.processIdentifier)\n".write(toFile: n.tincPidfile, atomically: true, encoding: .utf8)
        let r = try Command.run(["/bin/sh", path], timeout: 30)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("restart-tincd: could not start tincd"), r.stderr)
        XCTAssertTrue(other.isRunning, "the script stopped a process that is not this net's tincd")
    }

    /// bird.conf holds the include and the template, never a peer; BIRD accepts it with an empty
    /// peers file (as `up` starts it with registry keys) and with the lab's own (`--keys manual`).
    func testBirdConfParses() throws {
        let bird = try requireTool("bird")
        let n = nodes[0]
        let conf = LabTemplates.birdConf(node: n)
        XCTAssertFalse(conf.contains("protocol bgp "), conf)
        XCTAssertTrue(conf.contains("template bgp bgpmesh {"))
        XCTAssertTrue(conf.contains("include \"\(n.birdPeersFile)\";"))
        XCTAssertTrue(conf.contains("router id 192.0.2.1;"))
        XCTAssertFalse(conf.contains("timeformat"), "the BIRD collector must see BIRD's default time format")
        try FileManager.default.createDirectory(atPath: n.birdDir, withIntermediateDirectories: true)
        try conf.write(toFile: n.birdConf, atomically: true, encoding: .utf8)
        try "".write(toFile: n.birdPeersFile, atomically: true, encoding: .utf8)
        let empty = try Command.run([bird, "-p", "-c", n.birdConf])
        XCTAssertTrue(empty.succeeded, empty.stderr)
        let state = LabState(nodes: [1, 2, 3, 4], keys: .manual, agentBinary: nil, agentExtraArgs: [])
        let peers = LabTemplates.birdPeersConf(node: n, state: state)
        XCTAssertEqual(peers.components(separatedBy: "protocol bgp bgpmesh_node").count - 1, 3, peers)
        try peers.write(toFile: n.birdPeersFile, atomically: true, encoding: .utf8)
        let r = try Command.run([bird, "-p", "-c", n.birdConf])
        XCTAssertTrue(r.succeeded, r.stderr)
    }

    /// The repository root, from this file's path.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func repoFile(_ relative: String) throws -> String {
        try String(contentsOfFile: "\(Self.repoRoot)/\(relative)", encoding: .utf8)
    }

    func testPrometheusAndAlertmanagerConfigsCheck() throws {
        let promtool = try requireTool("promtool")
        let amtool = try requireTool("amtool")
        let rules = "\(Self.repoRoot)/prometheus/rules/bgpmesh.rules.yml"
        let prom = try LabTemplates.prometheusConfig(template: try repoFile("prometheus/prometheus.yml"), nodes: nodes,
                                                     members: Array(nodes.prefix(3)),
                                                     ruleFiles: [rules, "\(Self.repoRoot)/prometheus/rules/bgpmesh.rules.test.yml"],
                                                     scrapeAgents: true)
        XCTAssertEqual(prom.components(separatedBy: ":10179']").count - 1, 4)
        XCTAssertEqual(prom.components(separatedBy: ":12379']").count - 1, 3)
        XCTAssertTrue(prom.contains("labels: {node: node4}"))
        XCTAssertTrue(prom.contains("  - '\(rules)'\n"))
        XCTAssertFalse(prom.contains(".test.yml"), "promtool's test file is no rule file")
        XCTAssertFalse(prom.contains("'node1:10179'"), "the compose targets are replaced")
        XCTAssertTrue(prom.contains("exported_node"), "the repo file's relabelling is kept")
        XCTAssertTrue(prom.contains("scrape_interval: 5s"))
        try prom.write(toFile: "\(dir)/prometheus.yml", atomically: true, encoding: .utf8)
        let r = try Command.run([promtool, "check", "config", "\(dir)/prometheus.yml"])
        XCTAssertTrue(r.succeeded, r.stdout + r.stderr)

        let noAgents = try LabTemplates.prometheusConfig(template: try repoFile("prometheus/prometheus.yml"), nodes: nodes,
                                                         members: Array(nodes.prefix(3)), ruleFiles: [], scrapeAgents: false)
        XCTAssertFalse(noAgents.contains("bgpmesh-agent"))
        XCTAssertTrue(noAgents.contains("rule_files: []"))
        try noAgents.write(toFile: "\(dir)/prometheus2.yml", atomically: true, encoding: .utf8)
        let r2 = try Command.run([promtool, "check", "config", "\(dir)/prometheus2.yml"])
        XCTAssertTrue(r2.succeeded, r2.stdout + r2.stderr)

        let am = try LabTemplates.alertmanagerConfig(template: try repoFile("prometheus/alertmanager.yml"), nodes: nodes,
                                                     tokenFile: "\(dir)/token")
        XCTAssertEqual(am.components(separatedBy: "/api/v1/alerts'").count - 1, 4)
        XCTAssertTrue(am.contains("url: 'http://192.0.2.4:10179/api/v1/alerts'"))
        XCTAssertFalse(am.contains("email_configs"), "the lab sends no mail")
        try "t\n".write(toFile: "\(dir)/token", atomically: true, encoding: .utf8)
        try am.write(toFile: "\(dir)/am.yml", atomically: true, encoding: .utf8)
        let a = try Command.run([amtool, "check-config", "\(dir)/am.yml"])
        XCTAssertTrue(a.succeeded, a.stdout + a.stderr)
        // Only repairable alerts reach the node's agent (the rules' `repairable` label); humans by severity.
        let route = try Command.run([amtool, "config", "routes", "test", "--config.file=\(dir)/am.yml",
                                     "alertname=MeshPeerUnreachable", "component=mesh", "node=node4", "repairable=true", "severity=critical"])
        XCTAssertEqual(route.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "agent-node4,humans", route.stderr)
        let notRepairable = try Command.run([amtool, "config", "routes", "test", "--config.file=\(dir)/am.yml",
                                             "alertname=BGPSlowConvergence", "component=bgp", "node=node4", "repairable=false", "severity=warning"])
        XCTAssertEqual(notRepairable.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "humans", notRepairable.stderr)
    }

    func testMonitoringTemplatesRefuseAFileWithoutTheirSections() {
        XCTAssertThrowsError(try LabTemplates.prometheusConfig(template: "global:\n  scrape_interval: 1m\n", nodes: nodes,
                                                               members: [], ruleFiles: [], scrapeAgents: true)) { e in
            XCTAssertTrue("\(e)".contains("cannot find"), "\(e)")
        }
        XCTAssertThrowsError(try LabTemplates.alertmanagerConfig(template: "route:\n  receiver: x\n", nodes: nodes,
                                                                 tokenFile: "/t")) { e in
            XCTAssertTrue("\(e)".contains("agent routes"), "\(e)")
        }
    }

    func testAgentArgumentsExpandPlaceholders() {
        let state = LabState(nodes: [1, 2, 3], keys: .manual, agentBinary: "/bin/agent",
                             agentExtraArgs: ["--collector.bird.socket={bird_socket}", "--etcd={etcd_endpoints}"])
        let args = AgentCommand.arguments(binary: "/bin/agent", node: nodes[1], lab: state, extra: state.agentExtraArgs)
        XCTAssertEqual(Array(args.prefix(4)), ["/bin/agent", "run", "--web.listen-address", "192.0.2.2:10179"])
        XCTAssertTrue(args.contains("--collector.bird.socket=\(dir)/node2/bird/bird.ctl"))
        XCTAssertTrue(args.contains("--etcd=http://192.0.2.1:12379,http://192.0.2.2:12379,http://192.0.2.3:12379"))
        let dumpInterval = args.firstIndex(of: "--collector.tinc.min-dump-interval").map { args[$0 + 1] }
        XCTAssertEqual(dumpInterval, "1s")
        let restart = args.firstIndex(of: "--repair.tincd-restart-command").map { args[$0 + 1] }
        XCTAssertEqual(restart, "\(dir)/node2/run/restart-tincd")
    }

    func testForwardRuleParsing() throws {
        let r = try XCTUnwrap(PortForwarder.Rule("127.0.0.1:19090=192.0.2.250:19090"))
        XCTAssertEqual(r.listenPort, 19090)
        XCTAssertEqual(r.targetHost, "192.0.2.250")
        XCTAssertNil(PortForwarder.Rule("0.0.0.0:1=192.0.2.1:2"), "the forwarder only listens on loopback")
    }
}
