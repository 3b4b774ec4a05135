import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One node's row of `bgpmesh-lab status`.
public struct NodeStatus: Codable, Sendable, Equatable {
    public var name: String
    public var tinc_reachable_peers: Int
    public var bgp_established: Int
    public var bgp_configured: Int
    /// Sessions the topology gives this node (every other node, or the reflectors for a client).
    public var bgp_expected: Int = 0
    public var routes: Int
    public var agent_up: Bool
    /// What keeps this node from convergence; not part of the JSON.
    public var missing: [String] = []

    enum CodingKeys: String, CodingKey {
        case name, tinc_reachable_peers, bgp_established, bgp_configured, bgp_expected, routes, agent_up
    }
}

/// `bgpmesh-lab status --json`.
public struct LabStatus: Codable, Sendable {
    public var nodes: [NodeStatus]
    public var converged: Bool
    /// Everything that keeps the lab from convergence, one line each.
    public var missing: [String]

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func table() -> String {
        var rows = [["NODE", "TINC PEERS", "BGP ESTABLISHED", "ROUTES", "AGENT"]]
        let peers = max(nodes.count - 1, 0)
        for n in nodes {
            rows.append([n.name, "\(n.tinc_reachable_peers)/\(peers)", "\(n.bgp_established)/\(n.bgp_expected)",
                         "\(n.routes)", n.agent_up ? "up" : "down"])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var s = rows.map { r in
            r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
        s += converged ? "converged: yes\n" : "converged: no\n"
        return s
    }
}

/// How long `status` waits for each daemon. Every query has its own deadline and all run at once,
/// so `status` answers within `total` whatever the daemons do (stopped, hung, gone).
public struct StatusBudget: Sendable {
    /// The whole answer.
    public var total: Double = 2.0
    /// tincd: waiting for the signal lock (the agent's collector holds it while it dumps), for a
    /// quiet log, then for the dump's end.
    public var tincLockWait: Double = 0.5
    public var tincQuiet: Double = 0.4
    public var tincDump: Double = 1.0
    /// Each birdc call.
    public var birdc: Double = 0.9
    /// The agent's /healthz.
    public var agent: Double = 1.5
    public init() {}

    /// The budget for a lab of `nodes` nodes: as above up to 8 nodes, then every deadline grows with
    /// the lab (64 nodes: 8 times), since a 2-core machine starts 3 queries per node in that time.
    public static func forLab(nodes: Int) -> StatusBudget {
        let f = max(1, Double(nodes) / 8)
        var b = StatusBudget()
        b.total *= f
        b.tincLockWait *= f
        b.tincQuiet *= f
        b.tincDump *= f
        b.birdc *= f
        b.agent *= f
        return b
    }
}

/// Runs the tasks on threads of their own, at most `width` at a time (they block on child
/// processes, so a pool sized to the cores would queue them), and waits at most `deadline`
/// seconds. Unfinished tasks give nil; they end on their own deadlines.
func runParallel<T: Sendable>(_ tasks: [@Sendable () -> T], deadline: Double, width: Int = 32) -> [T?] {
    let box = ResultsBox<T>(count: tasks.count)
    let group = DispatchGroup()
    let slots = DispatchSemaphore(value: max(1, width))
    for (i, task) in tasks.enumerated() {
        group.enter()
        let t = Thread {
            slots.wait()
            box.set(i, task())
            slots.signal()
            group.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    _ = group.wait(timeout: .now() + deadline)
    return box.snapshot()
}

/// The scheduler state of a process from /proc/<pid>/stat (`R`, `S`, `D`, `T` stopped, `Z`...).
func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
}

extension Lab {
    /// Reads every node's tincd, BIRD and agent and applies the convergence criterion:
    /// every node reaches every other node over tinc, BIRD has a protocol for every session the
    /// topology gives the node (`bgpmesh_<peer>`) and every BGP session is Established, and every
    /// node has every other node's IPv4 and IPv6 prefix from BGP.
    ///
    /// Every query has a short deadline and all of them run at once, so the answer comes within
    /// `budget.total` (about 2 s up to 8 nodes, `StatusBudget.forLab`) even while a daemon is
    /// stopped or hung; what did not answer in time is named in `missing`.
    public func status(state: LabState, budget given: StatusBudget? = nil) -> LabStatus {
        let nodes = state.specs(stateDir: stateDir)
        let budget = given ?? StatusBudget.forLab(nodes: nodes.count)
        let agents = state.agentBinary != nil
        var tasks: [@Sendable () -> StatusPart] = []
        for n in nodes {
            tasks.append { self.tincPart(n, all: nodes, budget: budget) }
            let expected = state.bgpPeers(of: n, stateDir: stateDir)
            tasks.append { self.birdPart(n, all: nodes, expected: expected, budget: budget) }
            if agents { tasks.append { StatusPart(agentUp: self.agentAnswers(n, timeout: budget.agent)) } }
        }
        let parts = runParallel(tasks, deadline: budget.total)
        let perNode = agents ? 3 : 2
        var rows: [NodeStatus] = []
        for (i, n) in nodes.enumerated() {
            var st = NodeStatus(name: n.name, tinc_reachable_peers: 0, bgp_established: 0, bgp_configured: 0,
                                bgp_expected: state.bgpPeers(of: n, stateDir: stateDir).count, routes: 0, agent_up: false)
            let late = String(format: "%.1f s", budget.total)
            if let t = parts[i * perNode] {
                st.tinc_reachable_peers = t.tincReachable
                st.missing += t.missing
            } else {
                st.missing.append("tincd did not answer within \(late)")
            }
            if let b = parts[i * perNode + 1] {
                st.bgp_configured = b.bgpConfigured
                st.bgp_established = b.bgpEstablished
                st.routes = b.routes
                st.missing += b.missing
            } else {
                st.missing.append("BIRD did not answer within \(late)")
            }
            if agents { st.agent_up = parts[i * perNode + 2]?.agentUp ?? false }
            rows.append(st)
        }
        let missing = rows.flatMap { r in r.missing.map { "\(r.name): \($0)" } }
        return LabStatus(nodes: rows, converged: missing.isEmpty, missing: missing)
    }

    /// One query's share of a node's row.
    struct StatusPart: Sendable {
        var tincReachable = 0
        var bgpConfigured = 0
        var bgpEstablished = 0
        var routes = 0
        var agentUp = false
        var missing: [String] = []
    }

    /// A daemon that is stopped (SIGSTOP) gets no signal or query: it could not answer.
    func stoppedNote(_ kind: DaemonKind, _ n: NodeSpec) -> String? {
        guard let p = pid(kind, n), let s = processState(p), s == "T" || s == "t" else { return nil }
        return "\(kind.rawValue) is stopped (pid \(p), SIGSTOP)"
    }

    func tincPart(_ n: NodeSpec, all: [NodeSpec], budget: StatusBudget) -> StatusPart {
        var part = StatusPart()
        if let note = stoppedNote(.tincd, n) { part.missing.append(note); return part }
        guard isRunning(.tincd, n) else { part.missing.append("tincd not running"); return part }
        // The agent's collector dumps to the same log every second or so: when this dump does not
        // come in time (the collector holds the signal lock, tincd is busy), a dump of the last 3 s
        // tells as much.
        // An agent stopped (pause-agent) while it held the signal lock keeps it for good; stopped,
        // it sends no signal either, so the lock is not needed then.
        let own = tincSignalAndRead(n, SIGUSR2, end: "End of subnet list.", timeout: budget.tincDump,
                                    lockWait: budget.tincLockWait, quietMax: budget.tincQuiet,
                                    useLock: stoppedNote(.agent, n) == nil)
        guard let tnodes = own.flatMap(TincDump.nodes) ?? recentTincNodes(n, maxAge: 3) else {
            part.missing.append("tincd did not dump its nodes (see \(n.tincLog))")
            return part
        }
        let reachable = Set(tnodes.filter { $0.reachable && $0.name != n.name }.map(\.name))
        part.tincReachable = reachable.count
        let unreachable = all.filter { $0.index != n.index }.map(\.name).filter { !reachable.contains($0) }
        if !unreachable.isEmpty {
            part.missing.append("tinc cannot reach \(unreachable.prefix(6).joined(separator: ","))\(unreachable.count > 6 ? ",... (\(unreachable.count))" : "")")
        }
        return part
    }

    func birdPart(_ n: NodeSpec, all: [NodeSpec], expected: [NodeSpec], budget: StatusBudget) -> StatusPart {
        var part = StatusPart()
        if let note = stoppedNote(.bird, n) { part.missing.append(note); return part }
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"], timeout: budget.birdc),
              r.succeeded else {
            part.missing.append(isRunning(.bird, n) ? "BIRD does not answer on \(n.birdSocket)" : "BIRD not running")
            return part
        }
        let bgp = BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
        part.bgpConfigured = bgp.count
        part.bgpEstablished = bgp.filter(\.established).count
        let names = Set(bgp.map(\.name))
        let absent = expected.filter { !names.contains(LabNames.bgpProtocolPrefix + $0.name) }.map(\.name)
        if !absent.isEmpty {
            part.missing.append("BIRD has no protocol for \(absent.prefix(6).joined(separator: ","))\(absent.count > 6 ? ",... (\(absent.count))" : "") (see \(n.birdPeersFile))")
        }
        for p in bgp where !p.established {
            part.missing.append("BGP \(p.name) is \(p.state) \(p.info)".trimmingCharacters(in: .whitespaces))
        }
        guard let rr = try? Command.run(["birdc", "-s", n.birdSocket, "show", "route"], timeout: budget.birdc),
              rr.succeeded else {
            part.missing.append("birdc show route failed")
            return part
        }
        let learned = BirdReplies.routes(rr.stdout).filter { names.contains($0.proto) }
        part.routes = learned.count
        let have = Set(learned.map(\.prefix))
        let lacking = all.filter { $0.index != n.index }.flatMap { [$0.prefix4, $0.prefix6] }.filter { !have.contains($0) }
        if !lacking.isEmpty {
            part.missing.append("no BGP route for \(lacking.prefix(6).joined(separator: ","))\(lacking.count > 6 ? ",..." : "")")
        }
        return part
    }

    /// The last complete node dump in the tinc log, if its `Nodes:` line is at most `maxAge` seconds old.
    func recentTincNodes(_ n: NodeSpec, maxAge: Double) -> [TincDumpNode]? {
        let size = fileSize(n.tincLog)
        let text = readFrom(n.tincLog, offset: size > 65_536 ? size - 65_536 : 0)
        guard let nodes = TincDump.nodes(text) else { return nil }
        let lines = text.split(separator: "\n")
        guard let header = lines.last(where: { TincDump.message($0) == "Nodes:" }), header.count >= 19 else { return nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        guard let at = f.date(from: String(header.prefix(19))) else { return nil }
        return Date().timeIntervalSince(at) <= maxAge + 1 ? nodes : nil
    }

    /// GET /healthz of a node's agent from the monitoring namespace, with a deadline in seconds.
    func agentAnswers(_ n: NodeSpec, timeout: Double) -> Bool {
        if stoppedNote(.agent, n) != nil { return false }
        let r = try? Netns.exec(LabNames.monitoringNamespace,
                                ["curl", "-sS", "--fail", "-o", "/dev/null", "--connect-timeout", String(format: "%.1f", timeout),
                                 "--max-time", String(format: "%.1f", timeout), "http://\(n.agentListen)/healthz"],
                                timeout: timeout + 1)
        return r?.succeeded ?? false
    }

    /// Sends a dump signal (USR1 connections, USR2 nodes/edges/subnets) and returns the output.
    public func tincDump(_ n: NodeSpec, signal sig: Int32) -> String? {
        tincSignalAndRead(n, sig, end: sig == SIGUSR1 ? "End of connections." : "End of subnet list.")
    }

    /// Which nodes cannot reach which, from the tincd dumps.
    func tincMissing(_ nodes: [NodeSpec]) throws(LabError) -> [String] {
        parallelMap(nodes.count) { i -> String? in
            let n = nodes[i]
            guard let dump = self.tincDump(n, signal: SIGUSR2),
                  let tnodes = TincDump.nodes(dump) else {
                return "\(n.name): tincd did not answer SIGUSR2 (see \(n.tincLog))"
            }
            let reachable = Set(tnodes.filter(\.reachable).map(\.name))
            let lacking = nodes.filter { $0.index != n.index && !reachable.contains($0.name) }.map(\.name)
            return lacking.isEmpty ? nil
                : "\(n.name): tinc cannot reach \(lacking.prefix(6).joined(separator: ","))\(lacking.count > 6 ? ",... (\(lacking.count))" : "")"
        }.compactMap { $0 }
    }

    /// Polls status until the lab converges; throws with what is still missing. Every 10 s it
    /// reports what is still missing through `progress`.
    @discardableResult
    public func waitConverged(state: LabState, timeout: Double) throws(LabError) -> LabStatus {
        let start = Date()
        let deadline = start.addingTimeInterval(timeout)
        var nextReport = start.addingTimeInterval(10)
        var last = status(state: state)
        while !last.converged {
            if Date() >= deadline { throw .notReady(what: "convergence", seconds: timeout, missing: last.missing) }
            if Date() >= nextReport {
                nextReport = Date().addingTimeInterval(10)
                let shown = last.missing.prefix(4).joined(separator: "; ")
                progress.step("not converged yet: \(shown)\(last.missing.count > 4 ? "; ..." : "")")
            }
            usleep(500_000)
            last = status(state: state)
        }
        return last
    }
}
