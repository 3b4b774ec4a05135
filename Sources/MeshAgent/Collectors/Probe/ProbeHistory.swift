import Exposition
import Synchronization

/// Probe results per peer over a sliding window of rounds: loss, last RTT and an
/// RTT histogram. Fed with explicit outcomes, so tests need no network.
public final class ProbeHistory: Sendable {
    public struct Peer: Sendable {
        public var up = false
        public var lastRTT: Double?
        var window: [Bool] = [] // true = lost, oldest first
        public var lossRatio: Double {
            window.isEmpty ? 0 : Double(window.filter { $0 }.count) / Double(window.count)
        }
    }

    public static let rttBounds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]
    private let peers = Mutex<[String: Peer]>([:])
    private let histograms = Mutex<[String: HistogramAccumulator]>([:])
    /// Rounds in the loss window.
    public let windowRounds: Int

    public init(windowRounds: Int) {
        self.windowRounds = max(1, windowRounds)
    }

    /// One round's outcomes. Peers absent from it (no longer targets) are forgotten.
    public func record(_ outcomes: [ProbeTarget: ProbeOutcome]) {
        var byPeer: [String: ProbeOutcome] = [:]
        for (target, outcome) in outcomes {
            // A peer probed on several addresses is up if any answered.
            if case .reply = byPeer[target.peer] { continue }
            byPeer[target.peer] = outcome
        }
        let accumulators: [String: HistogramAccumulator] = histograms.withLock { h in
            for name in byPeer.keys where h[name] == nil { h[name] = HistogramAccumulator(bounds: Self.rttBounds) }
            for name in h.keys where byPeer[name] == nil { h[name] = nil }
            return h
        }
        peers.withLock { peers in
            for name in peers.keys where byPeer[name] == nil { peers[name] = nil }
            for (name, outcome) in byPeer {
                var p = peers[name] ?? Peer()
                switch outcome {
                case let .reply(rtt):
                    p.up = true
                    p.lastRTT = rtt
                    p.window.append(false)
                    accumulators[name]?.observe(rtt)
                case .lost:
                    p.up = false
                    p.window.append(true)
                }
                if p.window.count > windowRounds { p.window.removeFirst(p.window.count - windowRounds) }
                peers[name] = p
            }
        }
    }

    public var snapshot: [String: Peer] { peers.withLock { $0 } }

    func families(method: ProbeMethod?) -> [MetricFamily] {
        let peers = snapshot
        let histograms = self.histograms.withLock { $0 }
        let names = peers.keys.sorted()
        var out: [MetricFamily] = [
            .gauge("bgpmesh_peer_up", help: "Whether the peer's overlay address answered the last probe.",
                   names.map { Metric([Label("peer", $0)], peers[$0]!.up ? 1 : 0) }),
            .gauge("bgpmesh_peer_loss_ratio", help: "Share of probes lost over the sliding window.",
                   names.map { Metric([Label("peer", $0)], peers[$0]!.lossRatio) }),
            .gauge("bgpmesh_peer_last_rtt_seconds", help: "Round-trip time of the last answered probe.",
                   names.compactMap { n in peers[n]!.lastRTT.map { Metric([Label("peer", n)], $0) } }),
            .histogram("bgpmesh_peer_rtt_seconds", help: "Round-trip times of answered probes.",
                       names.compactMap { n in histograms[n].map { Metric([Label("peer", n)], histogram: $0.snapshot()) } }),
        ]
        if let method {
            out.append(.info("bgpmesh_probe_info", help: "How probes are sent (icmp_raw, icmp_dgram or tcp_179).",
                             [[Label("method", method.rawValue)]]))
        }
        return out
    }
}
