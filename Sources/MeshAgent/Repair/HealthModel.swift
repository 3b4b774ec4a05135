/// One thing wrong with the mesh, as seen from this node.
public struct HealthProblem: Sendable, Hashable, Comparable {
    /// The `kind` label of `bgpmesh_health_problems`; a bounded set.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case tincdDown = "tincd_down"
        case birdDown = "bird_down"
        case registryStale = "registry_stale"
        case hostKeyMissing = "host_key_missing"
        case hostKeyMismatch = "host_key_mismatch"
        case hostFileConflict = "host_file_conflict"
        case connectToDrift = "connectto_drift"
        case peerUnreachable = "peer_unreachable"
        case peerProbeLoss = "peer_probe_loss"
        // The BGP topology's (HealthModel+BGPTopology.swift).
        case bgpSessionMissing = "bgp_session_missing"
        case reflectorSessionDown = "reflector_session_down"
        case noReflectorSession = "no_reflector_session"
        case birdConfigRefused = "bird_config_refused"
        case bgpSessionDown = "bgp_session_down"
        /// tincd runs but did not answer a signal (dump, HUP, ALRM) within the dump timeout.
        case tincdHung = "tincd_hung"
        /// BIRD runs and its socket accepts, but it did not answer within collector.bird.timeout.
        case birdHung = "bird_hung"
        /// The agent could not write one of its tinc files (hosts/<peer>, conf.d/bgpmesh.conf).
        case fileWriteFailed = "file_write_failed"
    }

    public var kind: Kind
    /// The peer (or BGP session) it concerns; "" for this node itself.
    public var peer: String
    /// One line for the status page and logs.
    public var reason: String

    public init(_ kind: Kind, peer: String = "", _ reason: String) {
        self.kind = kind
        self.peer = peer
        self.reason = reason
    }

    public static func < (a: HealthProblem, b: HealthProblem) -> Bool {
        (a.kind.rawValue, a.peer) < (b.kind.rawValue, b.peer)
    }
}

/// The health score and its reasons.
public struct HealthReport: Sendable, Equatable {
    /// 0 (nothing works) to 1 (every expected peer reached, every session Established).
    public var score: Double
    public var problems: [HealthProblem]
}

/// Pure evaluation of a `MeshState`.
///
/// The score is a weighted mean: 0.3 tinc (share of alive peers tincd reaches), 0.3 BGP
/// (share of expected sessions Established, see `bgpShare`), 0.2 probes (mean 1 - loss over
/// probed peers), 0.1 local daemons (tincd and BIRD running), 0.1 configuration (half for a current registry view,
/// half for host files and ConnectTo matching it). A part with nothing to measure
/// (no peers, no sessions, a collector off) counts as healthy, so the score only drops for
/// something observed.
public enum HealthModel {
    public static func evaluate(_ state: MeshState) -> HealthReport {
        var problems: [HealthProblem] = []
        if state.tincdHung {
            problems.append(.init(.tincdHung, "tincd runs but did not answer a signal (a dump's USR2/USR1, or HUP/ALRM) within the dump timeout: hung or stopped"))
        } else if state.tincdRunning == false {
            problems.append(.init(.tincdDown, "tincd is not running"))
        }
        if state.birdHung {
            problems.append(.init(.birdHung, "BIRD runs and its socket accepts, but it did not answer within collector.bird.timeout: hung or stopped"))
        } else if state.birdUp == false {
            problems.append(.init(.birdDown, "BIRD does not answer on its control socket"))
        }
        if state.registrySynced == false {
            problems.append(.init(.registryStale, "the registry view is not current (etcd unreachable); files are kept as they are"))
        }
        if state.connectToDrift { problems.append(.init(.connectToDrift, "conf.d/bgpmesh.conf differs from the planned ConnectTo set")) }
        for failure in state.fileWriteFailures {
            problems.append(.init(.fileWriteFailed, peer: failure.peer,
                                  "cannot write \(failure.file) (\(failure.error)); the previous file stays as it was, retried every round"))
        }
        for peer in state.peers {
            switch peer.hostFile {
            case .missing: problems.append(.init(.hostKeyMissing, peer: peer.name, "hosts/\(peer.name) is missing"))
            case .mismatch: problems.append(.init(.hostKeyMismatch, peer: peer.name, "hosts/\(peer.name) differs from the registry's record"))
            case .conflict:
                problems.append(.init(.hostFileConflict, peer: peer.name,
                                      "hosts/\(peer.name) was not written by the agent and differs from the registry's record; left as it is"))
            case .ok: break
            }
            if peer.alive, peer.tincReachable == false, state.tincdRunning != false {
                problems.append(.init(.peerUnreachable, peer: peer.name, "\(peer.name) is alive in the registry but tincd cannot reach it"))
            }
            if peer.tincReachable != false, let loss = peer.probeLoss, peer.probeUp == false || loss >= 0.5 {
                problems.append(.init(.peerProbeLoss, peer: peer.name,
                                      "probes to \(peer.name) fail (loss \(Int((loss * 100).rounded())) %)"))
            }
        }
        for session in state.sessions where !session.established && !session.administrativelyDown {
            let since = session.downFor.map { " for \(Int($0)) s" } ?? ""
            problems.append(.init(.bgpSessionDown, peer: session.name, "BGP session \(session.name) is \(session.state)\(since)"))
        }
        problems += topologyProblems(state)

        let alivePeers = state.peers.filter(\.alive)
        let tincKnown = alivePeers.compactMap(\.tincReachable)
        let tinc = state.tincdRunning == false ? 0 : fraction(tincKnown.filter { $0 }.count, of: tincKnown.count)
        let bgp = state.birdUp == false ? 0 : bgpShare(state)
        let losses = state.peers.compactMap(\.probeLoss)
        let probes = losses.isEmpty ? 1 : losses.map { 1 - min(max($0, 0), 1) }.reduce(0, +) / Double(losses.count)
        let daemons = (state.tincdRunning == false || state.tincdHung ? 0 : 0.5) + (state.birdUp == false || state.birdHung ? 0 : 0.5)
        let drift = state.connectToDrift || state.peers.contains { $0.hostFile != .ok } || !state.fileWriteFailures.isEmpty
        let registry = (state.registrySynced == false ? 0.0 : 0.5) + (drift ? 0.0 : 0.5)
        let score = 0.3 * tinc + 0.3 * bgp + 0.2 * probes + 0.1 * daemons + 0.1 * registry
        return HealthReport(score: (score * 1000).rounded() / 1000, problems: problems.sorted())
    }

    static func fraction(_ part: Int, of whole: Int) -> Double {
        whole == 0 ? 1 : Double(part) / Double(whole)
    }
}
