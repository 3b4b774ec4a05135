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

    /// Every `action` label value (`bgp_restart` for every session).
    static let actionNames = ["reinstall_host_keys", "rewrite_connectto", "tinc_retry", "tinc_reload", "restart_tincd", "bgp_restart",
                              "restart_hung_tincd", "restart_bird", "restart_hung_bird"]

    /// The series of `bgpmesh_repairs_total` that start at 0: what the repair loop and the webhook
    /// (triggers `auto`, `webhook`) can do in this mode, `ok` and `failed` when it is on,
    /// `dry_run` in dry-run, none when off. Manual and forced repairs (a person asked, and
    /// reads the answer) appear when first counted.
    static func repairLabels(mode: RepairMode) -> CounterLabels {
        let results: [String] = switch mode {
        case .on: ["ok", "failed"]
        case .dryRun: ["dry_run"]
        case .off: []
        }
        return CounterLabels([("action", actionNames), ("result", results), ("trigger", [RepairTrigger.auto.rawValue, RepairTrigger.webhook.rawValue])])
    }

    static let skipLabels = CounterLabels("reason", RepairSkipReason.allCases.map(\.rawValue))

    var families: [MetricFamily] {
        let v = values.withLock { $0 }
        var repairs: [[String]: UInt64] = [:]
        for (key, count) in v.repairs { repairs[[key.action, key.result, key.trigger]] = count }
        var skipped: [[String]: UInt64] = [:]
        for (reason, count) in v.skipped { skipped[[reason.rawValue]] = count }
        return [
            .gauge("bgpmesh_health_score", help: "Mesh health seen from this node, 0 to 1 (see /api/v1/status for the reasons).",
                   [Metric([], v.score)]),
            .gauge("bgpmesh_health_problems", help: "Current problems by kind and peer (1 while present).",
                   v.problems.map { Metric([Label("kind", $0.kind.rawValue), Label("peer", $0.peer)], 1) }),
            Self.repairLabels(mode: v.mode).family(
                "bgpmesh_repairs_total",
                help: "Repair actions by action, result (ok, failed; dry_run: logged only, not carried out) and trigger (auto, webhook, manual, forced: manual with force).",
                counts: repairs),
            Self.skipLabels.family("bgpmesh_repair_skipped_total", help: "Repairs not taken, by reason (counted once per episode).", counts: skipped),
            .info("bgpmesh_repair_mode", help: "The repair mode (off, dry-run, on).", [[Label("mode", v.mode.rawValue)]]),
        ]
    }
}
