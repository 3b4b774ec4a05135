#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// What one node sees of its peers, as it publishes it under `views/<name>` (issue 17): tinc
/// reachability, its BGP session states and its probes, quantised so that RTT jitter does not
/// make a new value. Other agents merge every node's view into the mesh map.
public struct NodeView: Codable, Sendable, Equatable {
    public static let schemaVersion = 1
    /// The `tinc` values: a meta connection to the peer, reachable only through other nodes, or not reachable.
    public static let tincStates: Set<String> = ["direct", "relayed", "down"]

    public struct Peer: Codable, Sendable, Equatable {
        public var name: String
        /// `direct`, `relayed` or `down`; nil when this node has no fresh tinc dump.
        public var tinc: String?
        /// BIRD's state of the session with this peer (`Established`, `Active`, ...); nil without one.
        public var bgp: String?
        /// The probe's last round-trip time in milliseconds, rounded up to 1-2-5 steps.
        public var rttMs: Double?
        /// The probe's loss ratio over its window, rounded to tenths.
        public var loss: Double?

        enum CodingKeys: String, CodingKey {
            case name, tinc, bgp, loss
            case rttMs = "rtt_ms"
        }

        public init(name: String, tinc: String? = nil, bgp: String? = nil, rttMs: Double? = nil, loss: Double? = nil) {
            self.name = name
            self.tinc = tinc
            self.bgp = bgp
            self.rttMs = rttMs
            self.loss = loss
        }
    }

    public var schema: Int
    public var name: String
    /// Sorted by name.
    public var peers: [Peer]

    public init(name: String, peers: [Peer]) {
        schema = Self.schemaVersion
        self.name = name
        self.peers = peers.sorted { $0.name < $1.name }
    }

    /// This node's view from its mesh state: one entry per registry peer.
    public init(state: MeshState, name: String) {
        var peers: [Peer] = []
        for p in state.peers {
            let tinc: String? = p.tincReachable.map { reachable in
                !reachable ? "down" : p.metaConnection == true ? "direct" : "relayed"
            }
            // Several sessions with one peer (IPv4 and IPv6): the first one not Established speaks for them.
            let sessions = state.sessions.filter { $0.peer == p.name }
            let bgp = (sessions.first { !$0.established } ?? sessions.first)?.state
            peers.append(Peer(name: p.name, tinc: tinc, bgp: bgp.map { String($0.prefix(Self.maxStateLength)) },
                              rttMs: p.probeRTT.flatMap(Self.quantiseRTT), loss: p.probeLoss.flatMap(Self.quantiseLoss)))
        }
        self.init(name: name, peers: peers)
    }

    static let maxStateLength = 32

    /// Seconds to milliseconds, rounded up to the next of 0.1, 0.2, 0.5, 1, 2, 5, 10, ... ms.
    public static func quantiseRTT(_ seconds: Double) -> Double? {
        guard seconds.isFinite, seconds >= 0 else { return nil }
        let ms = seconds * 1000
        var step = 0.1
        while step < 100_000 {
            for factor in [1.0, 2.0, 5.0] where ms <= step * factor * 1.000001 {
                return (step * factor * 10).rounded() / 10
            }
            step *= 10
        }
        return 100_000
    }

    /// A ratio rounded to tenths, within 0...1.
    public static func quantiseLoss(_ ratio: Double) -> Double? {
        guard ratio.isFinite else { return nil }
        return (min(1, max(0, ratio)) * 10).rounded() / 10
    }

    /// Compact JSON, sorted keys: what is signed and what is compared for a change.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// The first rule this view breaks, or nil: names are tinc names, at most `maxPeers`
    /// peers, known tinc states, short BGP states of letters, finite non-negative numbers.
    public func problem(maxPeers: Int) -> String? {
        guard schema == Self.schemaVersion else { return "schema \(schema) is not \(Self.schemaVersion)" }
        guard TincNodeName(name) != nil else { return "name \(TincParseError.excerpt(name).debugDescription) is not a tinc node name" }
        guard peers.count <= maxPeers else { return "\(peers.count) peers, more than registry.max-nodes (\(maxPeers))" }
        var seen = Set<String>()
        for peer in peers {
            guard TincNodeName(peer.name) != nil else {
                return "peer \(TincParseError.excerpt(peer.name).debugDescription) is not a tinc node name"
            }
            guard seen.insert(peer.name).inserted else { return "peer \(peer.name) is listed twice" }
            if let tinc = peer.tinc, !Self.tincStates.contains(tinc) {
                return "peer \(peer.name): tinc state \(TincParseError.excerpt(tinc).debugDescription) is not direct, relayed or down"
            }
            if let bgp = peer.bgp, bgp.isEmpty || bgp.count > Self.maxStateLength || !bgp.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                return "peer \(peer.name): BGP state \(TincParseError.excerpt(bgp).debugDescription) is not a BIRD state"
            }
            if let rtt = peer.rttMs, !(rtt.isFinite && rtt >= 0 && rtt <= 100_000) { return "peer \(peer.name): rtt_ms out of range" }
            if let loss = peer.loss, !(loss.isFinite && loss >= 0 && loss <= 1) { return "peer \(peer.name): loss out of range" }
        }
        return nil
    }
}
