import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Lab {
    /// Grows a running lab by one node (the next free number).
    public func addNode(selfExecutable: String) throws(LabError) -> NodeSpec {
        try Lab.preflight()
        var state = try LabState.load(stateDir: stateDir)
        let index = state.nextIndex
        guard index <= LabNames.maxNodes else { throw .invalidArgument("the lab is full (\(LabNames.maxNodes) nodes)") }
        let n = node(index)
        try? FileManager.default.removeItem(atPath: n.dir)
        state.nodes.append(index)
        try state.save(stateDir: stateDir)
        let all = state.specs(stateDir: stateDir)
        let others = all.filter { $0.index != index }

        try raiseNeighbourTables(&state)
        try createNodeNetwork(n)
        try writeTincFiles(n, state: state)
        // tincd reads a new host file when the node connects; only a changed ConnectTo needs a HUP.
        let reconnect = state.keys == .manual ? try distributeKeys(all, timers: state.timers, joining: n).filter { $0.index != index } : []
        try startDaemon(.tincd, n, state: state)
        if state.keys == .manual {
            // One node after another would take a second each (the signal lock waits for a quiet log).
            _ = parallelMap(reconnect.count) { i in
                self.signalTincd(reconnect[i], SIGHUP)
                self.signalTincd(reconnect[i], SIGALRM)
            }
        }
        progress.step("tinc: \(n.name) started" + (state.keys == .manual ? ", host files and ConnectTo lines updated on every node"
                                                   : "; the agents publish it and install its key on the other nodes"))
        if state.keys == .manual {
            try waitUntil("tinc full mesh", timeout: 45 + Double(all.count), total: all.count) { () throws(LabError) in
                try self.tincMissing(all)
            }
            progress.step("tinc: every node reaches every other node")
        }
        let peers = state.bgpPeers(of: n, stateDir: stateDir)
        let changed = try reconfigureBird(peers, state: state)
        try writeBirdConf(n, state: state)
        try startDaemon(.bird, n, state: state)
        progress.step("bird: \(n.name) started with \(state.keys == .manual ? "\(peers.count) peers" : "no peers yet (its agent writes them)")"
                      + (state.keys == .manual ? "; \(changed) other nodes' peers files rewritten and reconfigured" : "; the agents add it everywhere"))
        try reloadMonitoring(state: state)
        if state.agentBinary != nil {
            try startDaemon(.agent, n, state: state)
            try waitUntil("agent /healthz", timeout: 20) { () throws(LabError) in
                self.agentResponds(n) ? [] : ["\(n.name): no answer on http://\(n.agentListen)/healthz"]
            }
        }
        if Command.readPid(forwarderPidfile).map(Command.isAlive) == true {
            try startForwarder(state: state, selfExecutable: selfExecutable)
        }
        return n
    }

    /// Shrinks a running lab by one node; etcd members cannot be removed.
    public func removeNode(_ name: String?, selfExecutable: String) throws(LabError) -> String {
        try Lab.preflight()
        var state = try LabState.load(stateDir: stateDir)
        let n: NodeSpec
        if let name { n = try resolve(name, in: state) } else {
            guard let last = state.nodes.max() else { throw .invalidArgument("the lab has no nodes") }
            n = node(last)
        }
        guard !n.isEtcdMember else {
            throw .invalidArgument("\(n.name) is an etcd member; only node4 and above can be removed")
        }
        guard state.nodes.count > 2 else { throw .invalidArgument("a lab keeps at least 2 nodes") }
        guard !state.isReflector(n.index) else {
            throw .invalidArgument("\(n.name) is a route reflector; only clients can be removed")
        }
        for kind in [DaemonKind.agent, .bird, .tincd, .etcd] { stopDaemon(kind, n, hard: false) }
        for p in Netns.pids(in: n.namespace) { Command.stop(p, grace: 2) }
        _ = try? Command.run([Netns.ip, "netns", "del", n.namespace], timeout: 10)
        state.nodes.removeAll { $0 == n.index }
        state.bare.removeAll { $0 == n.index }
        state.retired.append(n.index)
        try state.save(stateDir: stateDir)
        let rest = state.specs(stateDir: stateDir)
        if state.keys == .agent {
            // Decommission: deleting nodes/<name> makes every agent drop its host file and ConnectTo.
            try deleteRegistryRecord(n, state: state)
            progress.step("registry: \(LabNames.registryPrefix)nodes/\(n.name) deleted; the agents remove it everywhere")
        }
        if state.keys == .manual {
            for o in rest {
                try? FileManager.default.removeItem(atPath: "\(o.tincHostsDir)/\(n.name)")
                try write(o.tincConf, LabTemplates.tincConf(node: o, connectTo: LabTemplates.manualConnectTo(node: o, nodes: rest), timers: state.timers))
                signalTincd(o, SIGHUP)
            }
        }
        _ = try reconfigureBird(rest, state: state)
        try reloadMonitoring(state: state)
        if Command.readPid(forwarderPidfile).map(Command.isAlive) == true {
            try startForwarder(state: state, selfExecutable: selfExecutable)
        }
        return n.name
    }

    /// With `--keys manual`, rewrites the peers file of each node in `nodes` for the state's
    /// membership and makes each running BIRD reload it (`birdc configure`, which keeps the sessions
    /// whose protocol did not change); returns how many files changed. With registry keys the
    /// agents do this from the registry.
    @discardableResult
    func reconfigureBird(_ nodes: [NodeSpec], state: LabState) throws(LabError) -> Int {
        guard state.keys == .manual else { return 0 }
        var changed = 0
        for o in nodes {
            let text = LabTemplates.birdPeersConf(node: o, state: state)
            if (try? read(o.birdPeersFile)) == text { continue }
            try write(o.birdPeersFile, text)
            changed += 1
            guard isRunning(.bird, o) else { continue }
            let r = try Command.run(["birdc", "-s", o.birdSocket, "configure"], timeout: 15)
            guard r.succeeded, r.stdout.contains("Reconfigur") else {
                throw .commandFailed(command: "birdc -s \(o.birdSocket) configure", status: r.status,
                                     stderr: r.stdout + r.stderr)
            }
        }
        return changed
    }
}

extension Lab {
    /// Adds a bare node: its namespace on the bridge, its underlay address and announced /32, and
    /// empty directories; no tinc, BIRD or agent files and no tinc interface. `bgpmesh-agent join`
    /// (run in the namespace) or the Ansible role writes them, then `startNode` starts the daemons.
    public func addBareNode() throws(LabError) -> NodeSpec {
        try Lab.preflight()
        var state = try LabState.load(stateDir: stateDir)
        guard state.keys == .agent else { throw .invalidArgument("a bare node joins through the registry: the lab needs --keys agent") }
        let index = state.nextIndex
        guard index <= LabNames.maxNodes else { throw .invalidArgument("the lab is full (\(LabNames.maxNodes) nodes)") }
        let n = node(index)
        try? FileManager.default.removeItem(atPath: n.dir)
        state.nodes.append(index)
        state.bare.append(index)
        try state.save(stateDir: stateDir)
        try raiseNeighbourTables(&state)
        try createNodeNetwork(n, tincInterface: false)
        for dir in [n.logDir, n.runDir, "\(n.dir)/tinc", n.birdDir, n.agentDir] { try mkdir(dir) }
        try reloadMonitoring(state: state)
        progress.step("bare node \(n.name) (\(n.underlay)): namespace \(n.namespace) and empty directories under \(n.dir)")
        return n
    }

    /// Starts a bare node's tincd, BIRD and agent from the files join wrote (what the service
    /// manager does on a real node), and waits for the agent's /healthz.
    public func startNode(_ name: String) throws(LabError) -> NodeSpec {
        try Lab.preflight()
        let state = try LabState.load(stateDir: stateDir)
        let n = try resolve(name, in: state)
        guard state.bare.contains(n.index) else { throw .invalidArgument("\(n.name) is not a bare node; the lab starts its daemons itself") }
        for file in [n.tincConf, n.birdConf, n.agentConfigFile] where !FileManager.default.fileExists(atPath: file) {
            throw .invalidArgument("\(file) is missing: run `bgpmesh-agent join` in \(n.namespace) first")
        }
        for kind in [DaemonKind.tincd, .bird, .agent] where !isRunning(kind, n) {
            try startDaemon(kind, n, state: state)
        }
        if state.agentBinary != nil || FileManager.default.isExecutableFile(atPath: n.installedAgentBinary) {
            try waitUntil("agent /healthz", timeout: 20) { () throws(LabError) in
                self.agentResponds(n) ? [] : ["\(n.name): no answer on http://\(n.agentListen)/healthz"]
            }
        }
        progress.step("\(n.name): tincd, BIRD and the agent started from the files join wrote")
        return n
    }
}
