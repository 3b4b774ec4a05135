/// The value of one metric: a single number, or a whole histogram.
public enum MetricValue: Sendable, Equatable {
    case value(Double)
    case histogram(HistogramValue)
}

/// One labelled series (or, for histograms, one group of series) of a family.
public struct Metric: Sendable, Equatable {
    public var labels: [Label]
    public var value: MetricValue

    public init(_ labels: [Label] = [], _ value: Double) {
        self.labels = labels
        self.value = .value(value)
    }

    /// `Metric(3)`: with the two-argument form a lone argument would bind to `labels`.
    public init(_ value: Double) {
        self.init([], value)
    }

    public init(_ labels: [Label] = [], histogram: HistogramValue) {
        self.labels = labels
        self.value = .histogram(histogram)
    }
}
