extension MetricFamily {
    /// One series per state: `name{<labels>,state="s"} 1|0`, gauge type.
    ///
    /// This is node_exporter's systemd pattern: every possible state always has a
    /// series, so series never churn when the state changes. A `current` that is
    /// nil or not in `states` makes every series 0. Duplicate states are emitted once.
    public static func stateSet(
        _ name: String, help: String, labels: [Label], states: [String], current: String?,
        stateLabel: String = "state"
    ) -> MetricFamily {
        stateSet(name, help: help, entries: [(labels: labels, current: current)], states: states, stateLabel: stateLabel)
    }

    /// Several state sets in one family, one per entry (for example one per BGP session).
    public static func stateSet(
        _ name: String, help: String, entries: [(labels: [Label], current: String?)], states: [String],
        stateLabel: String = "state"
    ) -> MetricFamily {
        var seen = Set<String>()
        let uniqueStates = states.filter { seen.insert($0).inserted }
        var metrics: [Metric] = []
        metrics.reserveCapacity(entries.count * uniqueStates.count)
        for entry in entries {
            for state in uniqueStates {
                var labels = entry.labels
                labels.append(Label(stateLabel, state))
                metrics.append(Metric(labels, state == entry.current ? 1 : 0))
            }
        }
        return MetricFamily(name: name, help: help, type: .gauge, metrics: metrics)
    }
}
