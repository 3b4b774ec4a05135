import Exposition
import Synchronization

/// The repair loop's metrics.
public final class RepairMetrics: Sendable {
    struct Key: Hashable {
        var action: String
        var result: String
        var trigger: String
    }

    struct Values {
        var mode: RepairMode = .off
        var score = 1.0
        var problems: [HealthProblem] = []
        var repairs: [Key: UInt64] = [:]
        var skipped: [RepairSkipReason: UInt64] = [:]
    }

    let values = Mutex(Values())

    public init() {}

    var families: [MetricFamily] {
        let v = values.withLock { $0 }
        return [
            .gauge("bgpmesh_health_score", help: "Mesh health seen from this node, 0 to 1 (see /api/v1/status for the reasons).",
                   [Metric([], v.score)]),
            .gauge("bgpmesh_health_problems", help: "Current problems by kind and peer (1 while present).",
                   v.problems.map { Metric([Label("kind", $0.kind.rawValue), Label("peer", $0.peer)], 1) }),
            .counter("bgpmesh_repairs_total", help: "Repair actions by action, result (ok, failed, dry_run) and trigger (auto, webhook, manual, forced: manual with force).",
                     v.repairs.keys.sorted { ($0.action, $0.result, $0.trigger) < ($1.action, $1.result, $1.trigger) }.map {
                         Metric([Label("action", $0.action), Label("result", $0.result), Label("trigger", $0.trigger)], Double(v.repairs[$0]!))
                     }),
            .counter("bgpmesh_repair_skipped_total", help: "Repairs not taken, by reason (counted once per episode).",
                     RepairSkipReason.allCases.map { Metric([Label("reason", $0.rawValue)], Double(v.skipped[$0] ?? 0)) }),
            .info("bgpmesh_repair_mode", help: "The repair mode (off, dry-run, on).", [[Label("mode", v.mode.rawValue)]]),
        ]
    }
}
