import Exposition

/// The `repair` collector: health score, problems and repair counters (no I/O in a scrape).
public struct RepairCollector: Collector {
    public let name = "repair"
    let metrics: RepairMetrics

    public init(metrics: RepairMetrics) {
        self.metrics = metrics
    }

    public func collect() async throws -> [MetricFamily] { metrics.families }
}
