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

extension Lab {
    /// Reads every node's tincd, BIRD and agent and applies the convergence criterion:
    /// every node reaches every other node over tinc, BIRD has a protocol for every session the
    /// topology gives the node (`bgpmesh_<peer>`) and every BGP session is Established, and every
    /// node has every other node's IPv4 and IPv6 prefix from BGP.
    public func status(state: LabState) -> LabStatus {
        let nodes = state.specs(stateDir: stateDir)
        let rows = parallelMap(nodes.count) { i in
            self.nodeStatus(nodes[i], all: nodes, expected: state.bgpPeers(of: nodes[i], stateDir: self.stateDir),
                            agents: state.agentBinary != nil)
        }
        let missing = rows.flatMap { r in r.missing.map { "\(r.name): \($0)" } }
        return LabStatus(nodes: rows, converged: missing.isEmpty, missing: missing)
    }

    func nodeStatus(_ n: NodeSpec, all: [NodeSpec], expected: [NodeSpec], agents: Bool) -> NodeStatus {
        let peers = all.filter { $0.index != n.index }
        var st = NodeStatus(name: n.name, tinc_reachable_peers: 0, bgp_established: 0, bgp_configured: 0,
                            bgp_expected: expected.count, routes: 0, agent_up: false)
        // tinc
        if let dump = tincDump(n, signal: SIGUSR2), let tnodes = TincDump.nodes(dump) {
            let reachable = Set(tnodes.filter { $0.reachable && $0.name != n.name }.map(\.name))
            st.tinc_reachable_peers = reachable.count
            let unreachable = peers.map(\.name).filter { !reachable.contains($0) }
            if !unreachable.isEmpty {
                st.missing.append("tinc cannot reach \(unreachable.prefix(6).joined(separator: ","))\(unreachable.count > 6 ? ",... (\(unreachable.count))" : "")")
            }
        } else {
            st.missing.append(isRunning(.tincd, n) ? "tincd did not dump its nodes (see \(n.tincLog))" : "tincd not running")
        }
        // BIRD
        if let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"], timeout: 5), r.succeeded {
            let bgp = BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
            st.bgp_configured = bgp.count
            st.bgp_established = bgp.filter(\.established).count
            let names = Set(bgp.map(\.name))
            let absent = expected.filter { !names.contains(LabNames.bgpProtocolPrefix + $0.name) }.map(\.name)
            if !absent.isEmpty {
                st.missing.append("BIRD has no protocol for \(absent.prefix(6).joined(separator: ","))\(absent.count > 6 ? ",... (\(absent.count))" : "") (see \(n.birdPeersFile))")
            }
            for p in bgp where !p.established {
                st.missing.append("BGP \(p.name) is \(p.state) \(p.info)".trimmingCharacters(in: .whitespaces))
            }
            if let rr = try? Command.run(["birdc", "-s", n.birdSocket, "show", "route"], timeout: 5), rr.succeeded {
                let learned = BirdReplies.routes(rr.stdout).filter { names.contains($0.proto) }
                st.routes = learned.count
                let have = Set(learned.map(\.prefix))
                let lacking = peers.flatMap { [$0.prefix4, $0.prefix6] }.filter { !have.contains($0) }
                if !lacking.isEmpty {
                    st.missing.append("no BGP route for \(lacking.prefix(6).joined(separator: ","))\(lacking.count > 6 ? ",..." : "")")
                }
            } else {
                st.missing.append("birdc show route failed")
            }
        } else {
            st.missing.append(isRunning(.bird, n) ? "BIRD does not answer on \(n.birdSocket)" : "BIRD not running")
        }
        if agents { st.agent_up = agentResponds(n) }
        return st
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
