import Exposition
import Synchronization

/// Counters and gauges of the registry loop, read by `RegistryCollector`.
public final class RegistryMetrics: Sendable {
    struct Values {
        var rejected: [RegistryRejection: UInt64] = [:]
        var keyChanges: UInt64 = 0
        var hostfileWrites: UInt64 = 0
        var hostfileRemovals: UInt64 = 0
        var connectToChanges: UInt64 = 0
        var signals: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var nodesAlive = 0
        var nodesDead = 0
        var synced = false
        var published = false
        var revision: Int64 = 0
        var connectTo: [String] = []
        var lastChange: Double?
        /// Names whose current record is refused, with why (at most `maxRefusedSeries`).
        var refused: [(String, RegistryRejection)] = []
        var pins = 0
        /// Each peer with a trusted record and its key's SHA-256 fingerprint, by name.
        var peerKeys: [(peer: String, fingerprint: String)] = []
        /// Each peer's overlay addresses: address -> name (the `peer` label of BIRD's series).
        var peerOverlays: [String: String] = [:]
        /// Peers whose host file exists but was not written by the agent (set by the drift check).
        var hostFileConflicts = 0
    }

    /// The most `bgpmesh_registry_refused_node` series: a flood of hostile names stays bounded.
    static let maxRefusedSeries = 64

    let values = Mutex(Values())

    public init() {}

    func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }

    func error(_ kind: String) { values.withLock { $0.errors[kind, default: 0] += 1 } }

    /// Error kinds, bounded: the `kind` label of `bgpmesh_registry_errors_total`.
    static let errorKinds = ["publish", "lease", "watch", "hostfile", "connectto", "signal", "local_node", "pins", "sign", "owned_files"]

    static let rejectedLabels = CounterLabels("reason", RegistryRejection.allCases.map(\.rawValue))
    static let errorLabels = CounterLabels("kind", errorKinds)

    var families: [MetricFamily] { Self.families(values.withLock { $0 }) }

    static func families(_ v: Values) -> [MetricFamily] {
        [
            .gauge("bgpmesh_registry_nodes", help: "Valid node records in the registry, by whether the node holds its alive key.",
                   [Metric([Label("state", "alive")], Double(v.nodesAlive)), Metric([Label("state", "dead")], Double(v.nodesDead))]),
            Self.rejectedLabels.family("bgpmesh_registry_rejected_records_total", help: "Registry records refused (no file changed), by reason.",
                                       counts: Dictionary(uniqueKeysWithValues: v.rejected.map { ([$0.key.rawValue], $0.value) })),
            .counter("bgpmesh_registry_key_changes_total", help: "Host files rewritten with a different key than they held.",
                     [Metric([], Double(v.keyChanges))]),
            .counter("bgpmesh_hostfile_writes_total", help: "tinc host files written from the registry (unchanged files are not rewritten).",
                     [Metric([], Double(v.hostfileWrites))]),
            .counter("bgpmesh_hostfile_removals_total", help: "tinc host files removed because their node's record was deleted.",
                     [Metric([], Double(v.hostfileRemovals))]),
            .gauge("bgpmesh_registry_host_file_conflicts",
                   help: "Peers with a registry record whose hosts/ file the agent did not write and leaves alone (the operator's).",
                   [Metric([], Double(v.hostFileConflicts))]),
            .counter("bgpmesh_connectto_changes_total", help: "Rewrites of conf.d/bgpmesh.conf with a different ConnectTo set.",
                     [Metric([], Double(v.connectToChanges))]),
            .gauge("bgpmesh_connectto_peers", help: "Peers in this node's managed ConnectTo lines.",
                   [Metric([], Double(v.connectTo.count))]),
            .counter("bgpmesh_registry_tinc_reloads_total", help: "HUP+ALRM (or reload+retry) sent to tincd after the files changed.",
                     [Metric([], Double(v.signals))]),
            Self.errorLabels.family("bgpmesh_registry_errors_total", help: "Registry loop failures by kind.",
                                    counts: Dictionary(uniqueKeysWithValues: v.errors.map { ([$0.key], $0.value) })),
            .gauge("bgpmesh_registry_refused_node",
                   help: "1 for each node name whose current record is refused, by reason (its host file is left as it is; at most 64).",
                   v.refused.map { Metric([Label("peer", $0.0), Label("reason", $0.1.rawValue)], 1) }),
            .info("bgpmesh_registry_peer_key_info",
                  help: "The SHA-256 fingerprint (as in tinc_host_key_info and the logs) of each peer's key this node trusts.",
                  v.peerKeys.map { [Label("fingerprint", $0.fingerprint), Label("peer", $0.peer)] }),
            .gauge("bgpmesh_registry_pinned_keys", help: "Node names pinned to a key in the state directory.",
                   [Metric([], Double(v.pins))]),
            .gauge("bgpmesh_registry_synced", help: "Whether the registry view is current (range done and watch running).",
                   [Metric([], v.synced ? 1 : 0)]),
            .gauge("bgpmesh_registry_published", help: "Whether this node's record and alive key are in place.",
                   [Metric([], v.published ? 1 : 0)]),
            .gauge("bgpmesh_registry_revision", help: "The etcd revision the registry view reflects.",
                   [Metric([], Double(v.revision))]),
        ] + (v.lastChange.map {
            [.gauge("bgpmesh_registry_last_change_timestamp_seconds", help: "When the agent last changed a tinc file.", [Metric([], $0)])]
        } ?? [])
    }
}

/// The `registry` collector: the side loop's state and counters (no I/O in a scrape).
public struct RegistryCollector: Collector {
    public let name = "registry"
    let metrics: RegistryMetrics

    public init(metrics: RegistryMetrics) {
        self.metrics = metrics
    }

    public func collect() async throws -> [MetricFamily] { metrics.families }
}
