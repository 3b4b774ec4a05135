import EtcdClient
import Exposition
import Synchronization

/// Request durations by operation, fed by the etcd client's observer.
public final class EtcdRequestMetrics: Sendable {
    static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private let histograms = Mutex<[String: HistogramAccumulator]>([:])
    private let failures = Mutex<[String: UInt64]>([:])

    public init() {}

    public func observe(op: String, duration: Duration, success: Bool) {
        let h = histograms.withLock { h in
            if let existing = h[op] { return existing }
            let created = HistogramAccumulator(bounds: Self.bounds)
            h[op] = created
            return created
        }
        h.observe(duration.seconds)
        if !success { failures.withLock { $0[op, default: 0] += 1 } }
    }

    static let failureLabels = CounterLabels("op", EtcdOperation.allCases.map(\.rawValue))

    var families: [MetricFamily] {
        let h = histograms.withLock { $0 }, f = failures.withLock { $0 }
        return [
            .histogram("bgpmesh_etcd_request_duration_seconds", help: "etcd requests by operation.",
                       h.keys.sorted().map { Metric([Label("op", $0)], histogram: h[$0]!.snapshot()) }),
            Self.failureLabels.family("bgpmesh_etcd_request_failures_total", help: "Failed etcd requests by operation.",
                                      counts: Dictionary(uniqueKeysWithValues: f.map { ([$0.key], $0.value) })),
        ]
    }
}

/// The `etcd` collector: encodes the `EtcdSampler`'s last poll (whether the registry's etcd
/// answers, has a leader, how many members it has and how big its database is).
public struct EtcdCollector: Collector {
    public let name = "etcd"
    let sampler: EtcdSampler
    let requests: EtcdRequestMetrics

    public init(sampler: EtcdSampler, requests: EtcdRequestMetrics) {
        self.sampler = sampler
        self.requests = requests
    }

    public func collect() async throws -> [MetricFamily] {
        var out = requests.families
        if let snapshot = sampler.snapshot, let status = snapshot.status, let members = snapshot.members {
            out += [
                .gauge("bgpmesh_etcd_up", help: "Whether an etcd endpoint answered.", [Metric([], 1)]),
                .gauge("bgpmesh_etcd_has_leader", help: "Whether etcd reports a leader.", [Metric([], status.leader != 0 ? 1 : 0)]),
                .gauge("bgpmesh_etcd_members", help: "Members in etcd's member list.", [Metric([], Double(members.members.count))]),
                .gauge("bgpmesh_etcd_db_size_bytes", help: "Size of the answering member's database.", [Metric([], Double(status.dbSize))]),
                .info("bgpmesh_etcd_info", help: "etcd version and the endpoint that answered.",
                      [[Label("version", status.version), Label("endpoint", snapshot.endpoint)]]),
            ]
        } else {
            out.append(.gauge("bgpmesh_etcd_up", help: "Whether an etcd endpoint answered.", [Metric([], 0)]))
        }
        return out
    }
}
