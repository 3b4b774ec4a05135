import Exposition
import Synchronization

/// The key rotation's metrics: the own key's age, rotations by result, the current phase.
public final class RotationMetrics: Sendable {
    struct Values {
        var phase: RotationState.Phase = .idle
        var results: [RotationState.Result: UInt64] = [:]
        /// Unix seconds the key in use dates from (the last rotation, else the key file's mtime).
        var keySince: Double?
    }

    let values = Mutex(Values())
    let now: @Sendable () -> Double

    public init(now: @escaping @Sendable () -> Double) {
        self.now = now
    }

    func update(_ change: (inout Values) -> Void) {
        values.withLock { change(&$0) }
    }

    static let resultLabels = CounterLabels("result", RotationState.Result.allCases.map(\.rawValue).sorted())

    var families: [MetricFamily] {
        let v = values.withLock { $0 }
        // Sorted by name, as every collector's families are.
        var families: [MetricFamily] = [
            .gauge("bgpmesh_key_rotation_phase", help: "The key rotation's current phase (1 for the current one; idle when none runs).",
                   RotationState.Phase.allCases.sorted { $0.rawValue < $1.rawValue }.map {
                       Metric([Label("phase", $0.rawValue)], $0 == v.phase ? 1 : 0)
                   }),
            Self.resultLabels.family("bgpmesh_key_rotations_total",
                                     help: "Key rotations of this node ended, by result (success, rolled_back, failed).",
                                     counts: Dictionary(uniqueKeysWithValues: v.results.map { ([$0.key.rawValue], $0.value) })),
        ]
        if let since = v.keySince {
            families.insert(.gauge("bgpmesh_key_age_seconds", help: "Age of this node's tinc key: since its last rotation, else the key file's mtime.",
                                   [Metric([], max(0, now() - since))]), at: 0)
        }
        return families
    }
}

/// The `rotation` collector (no I/O in a scrape).
public struct RotationCollector: Collector {
    public let name = "rotation"
    let metrics: RotationMetrics

    public init(metrics: RotationMetrics) {
        self.metrics = metrics
    }

    public func collect() async throws -> [MetricFamily] { metrics.families }
}
