import Exposition

/// The label values a counter family can take, declared up front: every declared combination
/// is a series from the first scrape on, at 0 until counted. A series that first appears at 1
/// reads as no increase to `increase()` and `rate()`, so an alert on a counter would miss the
/// first event. A counted combination outside the declaration is still emitted.
///
/// Declare only what the agent can emit (`where:` drops impossible combinations): every
/// combination is a series on every node.
public struct CounterLabels: Sendable, Equatable {
    public let names: [String]
    /// The declared combinations, values in `names` order, in declaration order.
    public let combinations: [[String]]

    /// The product of each label's values, minus the combinations `allowed` refuses.
    public init(_ labels: [(name: String, values: [String])], where allowed: ([String]) -> Bool = { _ in true }) {
        names = labels.map(\.name)
        var product: [[String]] = [[]]
        for label in labels {
            var seen = Set<String>()
            let values = label.values.filter { seen.insert($0).inserted }
            product = product.flatMap { prefix in values.map { prefix + [$0] } }
        }
        combinations = product.filter(allowed)
    }

    /// One label and its values.
    public init(_ name: String, _ values: [String]) {
        self.init([(name, values)])
    }

    /// The family: each declared combination at its count (0 when not counted), then the
    /// counted combinations outside the declaration. `counts` is keyed by values in `names` order.
    public func family(_ name: String, help: String, counts: [[String]: UInt64]) -> MetricFamily {
        var metrics: [Metric] = []
        metrics.reserveCapacity(combinations.count)
        var declared = Set<[String]>()
        for values in combinations where declared.insert(values).inserted {
            metrics.append(metric(values, counts[values] ?? 0))
        }
        for (values, count) in counts where !declared.contains(values) && values.count == names.count {
            metrics.append(metric(values, count))
        }
        return .counter(name, help: help, metrics)
    }

    private func metric(_ values: [String], _ count: UInt64) -> Metric {
        Metric(zip(names, values).map { Label($0, $1) }, Double(count))
    }
}
