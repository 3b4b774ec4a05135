import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `up` should build.
public struct UpOptions: Sendable {
    public var nodes: Int
    public var keys: KeyMode
    /// nil runs the lab without agents.
    public var agentBinary: String?
    public var agentExtraArgs: [String]
    /// Path of the running bgpmesh-lab, for the loopback forwarder.
    public var selfExecutable: String
    public var forward: Bool
    /// Start again on the files the last `up` left (keys, host files, conf.d, etcd data).
    public var resume: Bool
    public var topology: LabTopology
    /// Route reflectors (nodes 1...reflectors) with `.reflectors`; ignored with `.full`.
    public var reflectors: Int

    public init(nodes: Int, keys: KeyMode, agentBinary: String?, agentExtraArgs: [String],
                selfExecutable: String, forward: Bool = true, resume: Bool = false,
                topology: LabTopology = .full, reflectors: Int = 2) {
        self.resume = resume
        self.nodes = nodes
        self.keys = keys
        self.agentBinary = agentBinary
        self.agentExtraArgs = agentExtraArgs
        self.selfExecutable = selfExecutable
        self.forward = forward
        self.topology = topology
        self.reflectors = reflectors
    }
}

extension Lab {
    /// Builds the whole lab. On failure the pieces stay for inspection; `down` removes them.
    @discardableResult
    public func up(_ opts: UpOptions) throws(LabError) -> LabState {
        guard (2...LabNames.maxNodes).contains(opts.nodes) else {
            throw .invalidArgument("--nodes must be between 2 and \(LabNames.maxNodes), got \(opts.nodes)")
        }
        if opts.topology == .reflectors {
            guard (1..<opts.nodes).contains(opts.reflectors) else {
                throw .invalidArgument("--reflectors must be between 1 and \(opts.nodes - 1) (one node at least is a client), got \(opts.reflectors)")
            }
        }
        if let binary = opts.agentBinary, !FileManager.default.isExecutableFile(atPath: binary) {
            throw .missingAgentBinary(path: binary)
        }
        try Lab.preflight()
        try refuseIfRunning()
        if opts.resume {
            let missing = (1...opts.nodes).map { node($0) }.filter { !FileManager.default.fileExists(atPath: "\($0.tincDir)/rsa_key.priv") }
            guard missing.isEmpty else {
                throw .invalidArgument("--resume needs the files of a previous `up` with \(opts.nodes) nodes in \(stateDir); missing: "
                                       + missing.map(\.name).joined(separator: ","))
            }
        }
        try resetStateDir(keepNodes: opts.resume)

        var state = LabState(nodes: Array(1...opts.nodes), keys: opts.keys, agentBinary: opts.agentBinary,
                             agentExtraArgs: opts.agentExtraArgs, topology: opts.topology, reflectors: opts.reflectors)
        try state.save(stateDir: stateDir)
        let nodes = state.specs(stateDir: stateDir)
        let count = nodes.count
        progress.step("state in \(stateDir); \(count) nodes, keys \(opts.keys.rawValue), BGP \(topologyText(state)); "
                      + "timers for \(count <= LabTimers.smallLab ? "a small lab" : "a lab above \(LabTimers.smallLab) nodes") (docs/scale.md)")
        try raiseNeighbourTables(&state)

        try Netns.add(LabNames.bridgeNamespace)
        try Netns.ip("-n", LabNames.bridgeNamespace, "link", "add", LabNames.bridge, "type", "bridge")
        try Netns.ip("-n", LabNames.bridgeNamespace, "link", "set", LabNames.bridge, "up")
        for (i, n) in nodes.enumerated() {
            try createNodeNetwork(n)
            if count > LabTimers.smallLab && (i + 1) % 16 == 0 && i + 1 < count {
                progress.step("underlay: \(i + 1)/\(count) node namespaces")
            }
        }
        try createMonitoringNetwork()
        progress.step("underlay: bridge \(LabNames.bridgeNamespace)/\(LabNames.bridge), \(count) node namespaces, \(LabNames.monitoringNamespace)")

        if opts.resume {
            progress.step("tinc: resuming with the existing keys, host files and conf.d")
        } else {
            // RSA key generation is CPU work: one per core.
            let frozen = state
            try forEachNode(nodes) { (n) throws(LabError) in try self.writeTincFiles(n, state: frozen) }
            if opts.keys == .manual { try distributeKeys(nodes, timers: state.timers) }
            progress.step("tinc: \(count) keys generated" + (opts.keys == .manual ? ", host files and ConnectTo lines distributed" : "; each node knows only itself"))
        }

        try startDaemons(.tincd, nodes, state: state)
        try waitUntil("tinc interfaces", timeout: 15 + Double(count) / 4, total: count) { () throws(LabError) in
            self.parallelMissing(nodes) { n in self.tincInterfaceUp(n) ? nil : "\(n.name): \(LabNames.tincInterface) not up (see \(n.tincLog))" }
        }
        if opts.keys == .manual {
            try waitUntil("tinc full mesh", timeout: 45 + Double(count), total: count) { () throws(LabError) in try self.tincMissing(nodes) }
            progress.step("tinc: \(count) tincd running; every node reaches every other node")
        } else {
            progress.step("tinc: \(count) tincd running; the agents distribute keys")
        }

        let members = state.etcdMembers(stateDir: stateDir)
        try startDaemons(.etcd, members, state: state)
        try waitEtcdHealthy(members)
        progress.step("etcd: \(members.count) members healthy at \(LabTemplates.etcdEndpoints(members: members))")

        for n in nodes { try writeBirdConf(n, state: state) }
        try startDaemons(.bird, nodes, state: state)
        try waitUntil("BIRD control sockets", timeout: 15 + Double(count) / 4, total: count) { () throws(LabError) in
            nodes.compactMap { FileManager.default.fileExists(atPath: $0.birdSocket) ? nil : "\($0.name): no \($0.birdSocket)" }
        }
        let sessions = nodes.reduce(0) { $0 + state.bgpPeers(of: $1, stateDir: stateDir).count } / 2
        progress.step("bird: \(count) daemons; \(sessions) iBGP sessions expected ("
                      + (opts.keys == .manual ? "peers files written by the lab" : "the agents write the peers files from the registry") + ")")

        try startMonitoring(state: state, selfExecutable: opts.selfExecutable)
        progress.step("monitoring: Prometheus (scrape every \(state.timers.scrapeInterval) s), Alertmanager and the alert sink "
                      + "(the humans' receivers, \(monitoring.sinkFile)) on \(LabNames.monitoringAddress)")

        if state.agentBinary != nil {
            try startDaemons(.agent, nodes, state: state)
            try waitUntil("agents /healthz", timeout: 20 + Double(count) / 2, total: count) { () throws(LabError) in
                self.parallelMissing(nodes) { n in
                    self.agentResponds(n) ? nil : "\(n.name): no answer on http://\(n.agentListen)/healthz (see \(n.log(.agent)))"
                }
            }
            progress.step("agents: \(count) running")
        } else {
            progress.step("agents: not started (--no-agents)")
        }

        if opts.forward {
            try startForwarder(state: state, selfExecutable: opts.selfExecutable)
            progress.step("forwarder: host loopback ports open")
        }
        return state
    }

    func topologyText(_ state: LabState) -> String {
        switch state.topology {
        case .full: return "full mesh"
        case .reflectors:
            return "route reflectors " + (state.reflectors == 1 ? "node1" : "node1-node\(state.reflectors)")
        }
    }

    /// Raises the kernel's neighbour table limits for the lab's size (see `NeighbourTables`), and
    /// keeps the values it replaced in the state for `down`.
    func raiseNeighbourTables(_ state: inout LabState) throws(LabError) {
        let old = try NeighbourTables.raise(nodes: state.nodes.count + 1)
        guard !old.isEmpty else { return }
        for (k, v) in old where state.neighbourSysctlsBefore[k] == nil { state.neighbourSysctlsBefore[k] = v }
        try state.save(stateDir: stateDir)
        let want = NeighbourTables.wanted(nodes: state.nodes.count + 1)
        let t = (1...3).map { "\(want["net.ipv4.neigh.default.gc_thresh\($0)"] ?? 0)" }.joined(separator: "/")
        let was = (1...3).map { i in
            let key = "net.ipv4.neigh.default.gc_thresh\(i)"
            return (state.neighbourSysctlsBefore[key] ?? NeighbourTables.read(key)).map(String.init) ?? "?"
        }.joined(separator: "/")
        progress.step("kernel: neighbour tables (shared by all namespaces) raised to gc_thresh1/2/3 = \(t) for ipv4 and ipv6 "
                      + "(were \(was)); `down` puts them back")
    }

    /// `missing` over every node, asked on many threads at once.
    func parallelMissing(_ nodes: [NodeSpec], _ check: @Sendable @escaping (NodeSpec) -> String?) -> [String] {
        parallelMap(nodes.count) { check(nodes[$0]) }.compactMap { $0 }
    }

    func refuseIfRunning() throws(LabError) {
        let leftovers = Netns.labNamespaces()
        if !leftovers.isEmpty {
            throw .labAlreadyRunning("namespaces \(leftovers.prefix(4).joined(separator: ", "))\(leftovers.count > 4 ? ", ..." : "")")
        }
    }

    /// Removes only what the lab writes, so a mistaken --state-dir cannot wipe unrelated files.
    func resetStateDir(keepNodes: Bool = false) throws(LabError) {
        try mkdir(stateDir)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []
        for e in entries where e == "lab.json" || e == "mon" || e == "run"
            || (!keepNodes && e.hasPrefix("node") && Int(e.dropFirst(4)) != nil) {
            try? FileManager.default.removeItem(atPath: "\(stateDir)/\(e)")
        }
        try mkdir("\(stateDir)/run")
    }

    func createNodeNetwork(_ n: NodeSpec, tincInterface: Bool = true) throws(LabError) {
        try Netns.add(n.namespace)
        try Netns.plugIntoBridge(ns: n.namespace, inner: LabNames.underlayInterface, port: n.bridgePort,
                                 address: "\(n.underlay)/24")
        // The announced /32 is a real address on the node, so it answers over the overlay.
        try Netns.ip("-n", n.namespace, "addr", "add", n.prefix4, "dev", "lo")
        if tincInterface { try createTincInterface(n) }
    }

    /// tinc0, persistent, before tincd starts: tinc 1.0 attaches to an existing device of the
    /// name in tinc.conf instead of creating (and on exit destroying) one, so a tincd restart
    /// keeps the interface index, its addresses and the routes through it.
    func createTincInterface(_ n: NodeSpec) throws(LabError) {
        try Command.run([Netns.ip, "-n", n.namespace] + LabTemplates.tuntapAddArguments(), timeout: 10, check: true)
    }

    func createMonitoringNetwork() throws(LabError) {
        try Netns.add(LabNames.monitoringNamespace)
        try Netns.plugIntoBridge(ns: LabNames.monitoringNamespace, inner: LabNames.underlayInterface, port: "mon",
                                 address: "\(LabNames.monitoringAddress)/24")
    }

    /// tinc.conf without ConnectTo, tinc-up/-down, hosts/<self>, and a fresh RSA key.
    func writeTincFiles(_ n: NodeSpec, state: LabState) throws(LabError) {
        try mkdir(n.tincHostsDir)
        try mkdir(n.tincConfD)
        try mkdir(n.logDir)
        try mkdir(n.runDir)
        try write(n.tincConf, LabTemplates.tincConf(node: n, connectTo: [], timers: state.timers))
        try write("\(n.tincDir)/tinc-up", LabTemplates.tincUp(node: n), mode: 0o755)
        try write("\(n.tincDir)/tinc-down", LabTemplates.tincDown, mode: 0o755)
        try write("\(n.tincHostsDir)/\(n.name)", LabTemplates.tincHost(node: n))
        // tinc 1.0 -K asks for file names only on a terminal; stdin is /dev/null here.
        try Command.run(["tincd", "-n", LabNames.tincNet, "-c", n.tincDir, "-K", "2048"], timeout: 60, check: true)
    }

    /// `--keys manual`: every node gets every host file, and ConnectTo lines (`manualConnectTo`).
    /// With `joining`, only that node's host file goes to every node and every host file to it (the
    /// others already hold each other's). Returns the nodes whose tinc.conf changed.
    @discardableResult
    func distributeKeys(_ nodes: [NodeSpec], timers: LabTimers, joining: NodeSpec? = nil) throws(LabError) -> [NodeSpec] {
        var changed: [NodeSpec] = []
        for n in nodes {
            for p in nodes where p.index != n.index && (joining == nil || p == joining || n == joining) {
                try copy("\(p.tincHostsDir)/\(p.name)", "\(n.tincHostsDir)/\(p.name)")
            }
            let conf = LabTemplates.tincConf(node: n, connectTo: LabTemplates.manualConnectTo(node: n, nodes: nodes), timers: timers)
            if (try? read(n.tincConf)) != conf {
                try write(n.tincConf, conf)
                changed.append(n)
            }
        }
        return changed
    }

    func tincInterfaceUp(_ n: NodeSpec) -> Bool {
        guard let r = try? Netns.exec(n.namespace, ["ip", "-o", "-4", "addr", "show", "dev", LabNames.tincInterface]) else {
            return false
        }
        return r.succeeded && r.stdout.contains(n.overlay4 + "/")
    }

    /// bird.conf, and the peers file it includes: the lab's own with `--keys manual`; with registry
    /// keys an empty one when there is none yet (BIRD refuses a missing include), which the agent
    /// then fills.
    func writeBirdConf(_ n: NodeSpec, state: LabState) throws(LabError) {
        try mkdir(n.birdDir)
        if state.keys == .manual {
            try write(n.birdPeersFile, LabTemplates.birdPeersConf(node: n, state: state))
        } else if !FileManager.default.fileExists(atPath: n.birdPeersFile) {
            try write(n.birdPeersFile, "")
        }
        try write(n.birdConf, LabTemplates.birdConf(node: n))
        let r = try Command.run(["bird", "-p", "-c", n.birdConf], timeout: 10)
        guard r.succeeded else {
            throw .commandFailed(command: "bird -p -c \(n.birdConf)", status: r.status, stderr: r.stderr)
        }
    }

    func waitEtcdHealthy(_ members: [NodeSpec]) throws(LabError) {
        guard let first = members.first else { return }
        try waitUntil("etcd cluster health", timeout: 45, interval: 1) { () throws(LabError) in
            let r = try Netns.exec(first.namespace, ["etcdctl", "--endpoints", LabTemplates.etcdEndpoints(members: members),
                                                     "--dial-timeout=2s", "--command-timeout=3s", "endpoint", "health"],
                                   timeout: 15)
            let text = r.stdout + r.stderr
            return members.compactMap { m in
                text.contains("\(m.etcdClientURL) is healthy") ? nil : "\(m.name): etcd not healthy (see \(m.log(.etcd)))"
            }
        }
    }

    /// The repo's Prometheus rule files, when the `prometheus/` directory has any.
    func repoRuleFiles() -> [String] {
        let dir = "\(repoRoot)/prometheus"
        var out: [String] = []
        for sub in ["", "rules/"] {
            let d = dir + (sub.isEmpty ? "" : "/" + sub.dropLast())
            let files = (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []
            for f in files.sorted() where (f.hasSuffix(".rules.yml") || (!sub.isEmpty && (f.hasSuffix(".yml") || f.hasSuffix(".yaml")))) {
                out.append("\(d)/\(f)")
            }
        }
        return out
    }

    /// A file of the repository's monitoring bundle (`prometheus/`), which the lab runs as is.
    func readRepoFile(_ relative: String) throws(LabError) -> String {
        let path = "\(repoRoot)/\(relative)"
        guard let d = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read it (set BGPMESH_REPO to the repository)")
        }
        return String(decoding: d, as: UTF8.self)
    }

    func writeMonitoringConfig(state: LabState) throws(LabError) {
        let mon = monitoring
        let nodes = state.specs(stateDir: stateDir)
        try mkdir(mon.dir)
        try mkdir(mon.runDir)
        try mkdir(mon.logDir)
        if !FileManager.default.fileExists(atPath: mon.webhookTokenFile) {
            try write(mon.webhookTokenFile, UUID().uuidString.lowercased() + "\n", mode: 0o600)
        }
        try write(mon.prometheusConfig,
                  try LabTemplates.prometheusConfig(template: try readRepoFile("prometheus/prometheus.yml"), nodes: nodes,
                                                    members: state.etcdMembers(stateDir: stateDir),
                                                    ruleFiles: repoRuleFiles(), scrapeAgents: state.agentBinary != nil,
                                                    timers: state.timers))
        try write(mon.alertmanagerConfig,
                  try LabTemplates.alertmanagerConfig(template: try readRepoFile("prometheus/alertmanager.yml"), nodes: nodes,
                                                      tokenFile: mon.webhookTokenFile))
        let r = try Command.run(["promtool", "check", "config", mon.prometheusConfig], timeout: 20)
        guard r.succeeded else {
            throw .commandFailed(command: "promtool check config \(mon.prometheusConfig)", status: r.status,
                                 stderr: r.stdout + r.stderr)
        }
    }

    /// Prometheus, Alertmanager and the alert sink (this executable's `sink`) in bml-mon.
    func startMonitoring(state: LabState, selfExecutable: String) throws(LabError) {
        try writeMonitoringConfig(state: state)
        let mon = monitoring
        let sink = [selfExecutable, "sink", "--listen", "\(LabNames.monitoringAddress):\(LabNames.sinkPort)", "--output", mon.sinkFile]
        for (name, argv) in [("sink", sink), ("prometheus", LabTemplates.prometheusArguments(mon)),
                             ("alertmanager", LabTemplates.alertmanagerArguments(mon))] {
            let pid = try Command.spawnDaemon(argv, netns: LabNames.monitoringNamespace, pidfile: mon.pidfile(name),
                                              log: mon.log(name))
            usleep(100_000)
            guard Command.isAlive(pid) else {
                throw .daemonDidNotStart(kind: name, node: LabNames.monitoringNamespace, log: mon.log(name),
                                         lastLine: lastLine(mon.log(name)))
            }
        }
        try waitUntil("Prometheus, Alertmanager and the alert sink ready", timeout: 30) { () throws(LabError) in
            var missing: [String] = []
            if !httpOK(from: LabNames.monitoringNamespace, "\(mon.prometheusURL)/-/ready") { missing.append("Prometheus not ready (see \(mon.log("prometheus")))") }
            if !httpOK(from: LabNames.monitoringNamespace, "\(mon.alertmanagerURL)/-/ready") { missing.append("Alertmanager not ready (see \(mon.log("alertmanager")))") }
            if !httpOK(from: LabNames.monitoringNamespace, "\(mon.sinkURL)/healthz") { missing.append("the alert sink does not answer (see \(mon.log("sink")))") }
            return missing
        }
    }

    /// Rewrites the monitoring configs and makes both daemons reload them (SIGHUP).
    func reloadMonitoring(state: LabState) throws(LabError) {
        try writeMonitoringConfig(state: state)
        for name in ["prometheus", "alertmanager"] {
            if let p = Command.readPid(monitoring.pidfile(name)), Command.isAlive(p) { kill(p, SIGHUP) }
        }
    }

    /// GET `url` from inside namespace `ns`; true on a 2xx answer.
    public func httpOK(from ns: String, _ url: String, timeout: Double = 2) -> Bool {
        (try? httpGet(from: ns, url, timeout: timeout)) != nil
    }

    /// GET `url` from inside namespace `ns`, returning the body of a 2xx answer.
    public func httpGet(from ns: String, _ url: String, timeout: Double = 3) throws(LabError) -> String {
        let r = try Netns.exec(ns, ["curl", "-sS", "--fail", "--max-time", String(Int(timeout.rounded(.up))), url],
                               timeout: timeout + 5)
        guard r.succeeded else { throw .commandFailed(command: "curl \(url)", status: r.status, stderr: r.stderr) }
        return r.stdout
    }

    func agentResponds(_ n: NodeSpec) -> Bool {
        httpOK(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/healthz")
    }

    // MARK: - Loopback forwarder

    /// host port -> target in the monitoring namespace's view of the underlay.
    public func forwardMap(state: LabState) -> [(Int, String)] {
        var m: [(Int, String)] = [
            (LabNames.hostPrometheusPort, "\(LabNames.monitoringAddress):\(LabNames.prometheusPort)"),
            (LabNames.hostAlertmanagerPort, "\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)"),
        ]
        if state.agentBinary != nil {
            for n in state.specs(stateDir: stateDir) { m.append((n.hostAgentPort, n.agentListen)) }
        }
        return m
    }

    func startForwarder(state: LabState, selfExecutable: String) throws(LabError) {
        if let p = Command.readPid(forwarderPidfile) { Command.stop(p, grace: 2) }
        var argv = [selfExecutable, "_forward", "--netns", LabNames.monitoringNamespace, "--state-dir", stateDir]
        for (port, target) in forwardMap(state: state) { argv += ["--map", "127.0.0.1:\(port)=\(target)"] }
        let pid = try Command.spawnDaemon(argv, netns: nil, pidfile: forwarderPidfile, log: forwarderLog)
        usleep(300_000)
        guard Command.isAlive(pid) else {
            throw .daemonDidNotStart(kind: "forwarder", node: "host", log: forwarderLog, lastLine: lastLine(forwarderLog))
        }
    }

    /// The lines `up` ends with: how to reach everything from the host shell.
    public func accessText(state: LabState, forwarding: Bool) -> String {
        var s = "How to reach the lab from this shell:\n"
        let mon = monitoring
        if forwarding {
            s += "  Prometheus    http://127.0.0.1:\(LabNames.hostPrometheusPort)/   (in the lab: \(mon.prometheusURL))\n"
            s += "  Alertmanager  http://127.0.0.1:\(LabNames.hostAlertmanagerPort)/   (in the lab: \(mon.alertmanagerURL))\n"
        }
        if state.agentBinary != nil {
            for n in state.specs(stateDir: stateDir) {
                let host = forwarding ? "http://127.0.0.1:\(n.hostAgentPort)" : "http://\(n.agentListen)"
                s += "  \(n.name) agent   \(host)/metrics  \(host)/  (status page)\n"
            }
        }
        s += "  A node's shell:   bgpmesh-lab exec node1 -- bash   (ETCDCTL_ENDPOINTS and LAB_* are set)\n"
        s += "  A node's BIRD:    bgpmesh-lab birdc node1 show protocols\n"
        s += "  State and logs:   \(stateDir)/node*/log/\n"
        return s
    }
}
