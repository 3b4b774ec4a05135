import Exposition
import Synchronization

/// Counters and gauges of the peers-file writer (`BGPPeersWriter`), read by `BGPPeersCollector`.
public final class BGPPeersMetrics: Sendable {
    /// How one apply (`configure check`, then `configure`) ended: the `result` label.
    public enum ApplyResult: String, Sendable, CaseIterable {
        /// BIRD checked and applied the file.
        case applied
        /// BIRD refused it; the previous bytes were put back.
        case refused
        /// BIRD did not answer (not running, socket refused, deadline passed): the file stays, retried with backoff.
        case unavailable
    }

    struct Values {
        var configured = 0
        var skipped: [BGPPeerPlan.SkipReason: Int] = [:]
        var applies: [ApplyResult: UInt64] = [:]
        var refused = false
        var conflict = false
        var pending = false
        var writes: UInt64 = 0
        var rollbacks: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var lastApplied: Double?
    }

    /// Error kinds, bounded: the `kind` label of `bgpmesh_bird_peers_errors_total`.
    static let errorKinds = ["password", "read", "write", "ledger"]
    static let skipReasons: [BGPPeerPlan.SkipReason] = [.noAddress, .noASN]

    let values = Mutex(Values())

    public init() {}

    func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }

    func error(_ kind: String) { values.withLock { $0.errors[kind, default: 0] += 1 } }

    static let applyLabels = CounterLabels("result", ApplyResult.allCases.map(\.rawValue))
    static let errorLabels = CounterLabels("kind", errorKinds)

    var families: [MetricFamily] {
        let v = values.withLock { $0 }
        return [
            .gauge("bgpmesh_bird_peers_configured", help: "BGP protocols the agent wants in bird.peers-file (peers of the topology, and blocks on hold).",
                   [Metric([], Double(v.configured))]),
            .gauge("bgpmesh_bird_peers_skipped",
                   help: "Nodes the topology wants as peers whose record gives no session, by reason (no AS number, no overlay address).",
                   Self.skipReasons.map { Metric([Label("reason", $0.rawValue)], Double(v.skipped[$0] ?? 0)) }),
            Self.applyLabels.family("bgpmesh_bird_peers_applies_total",
                                    help: "Applies of bird.peers-file (configure check, then configure), by result.",
                                    counts: Dictionary(uniqueKeysWithValues: v.applies.map { ([$0.key.rawValue], $0.value) })),
            .gauge("bgpmesh_bird_peers_refused", help: "1 while BIRD refuses the peers config the agent wants (the previous file is back).",
                   [Metric([], v.refused ? 1 : 0)]),
            .gauge("bgpmesh_bird_peers_file_conflict", help: "1 while bird.peers-file exists and is not the agent's (never overwritten).",
                   [Metric([], v.conflict ? 1 : 0)]),
            .gauge("bgpmesh_bird_peers_pending", help: "1 while bird.peers-file holds bytes BIRD has not applied yet (retried with backoff).",
                   [Metric([], v.pending ? 1 : 0)]),
            .counter("bgpmesh_bird_peers_file_writes_total", help: "Writes of bird.peers-file (unchanged bytes are not rewritten).",
                     [Metric([], Double(v.writes))]),
            .counter("bgpmesh_bird_peers_rollbacks_total", help: "Times the previous bytes of bird.peers-file were put back after BIRD refused.",
                     [Metric([], Double(v.rollbacks))]),
            Self.errorLabels.family("bgpmesh_bird_peers_errors_total", help: "Peers-file failures by kind (password file, reading, writing, ledger).",
                                    counts: Dictionary(uniqueKeysWithValues: v.errors.map { ([$0.key], $0.value) })),
        ] + (v.lastApplied.map {
            [.gauge("bgpmesh_bird_peers_last_applied_timestamp_seconds", help: "When BIRD last applied bird.peers-file.", [Metric([], $0)])]
        } ?? [])
    }
}

/// The `bird_peers` collector: the peers-file writer's state and counters (no I/O in a scrape).
public struct BGPPeersCollector: Collector {
    public let name = "bird_peers"
    let metrics: BGPPeersMetrics

    public init(metrics: BGPPeersMetrics) {
        self.metrics = metrics
    }

    public func collect() async throws -> [MetricFamily] { metrics.families }
}
