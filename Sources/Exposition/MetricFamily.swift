/// A named set of metrics of one type, built fresh on every scrape.
///
/// `name` is the text 0.0.4 name: counters end in `_total`, info families in
/// `_info`. The OpenMetrics encoder derives the family name by dropping that suffix.
public struct MetricFamily: Sendable, Equatable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var metrics: [Metric]

    public init(name: String, help: String, type: MetricType, metrics: [Metric]) {
        self.name = name
        self.help = help
        self.type = type
        self.metrics = metrics
    }

    public static func counter(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .counter, metrics: metrics)
    }

    public static func gauge(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, metrics: metrics)
    }

    public static func histogram(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .histogram, metrics: metrics)
    }

    /// An info family: one sample per label set, each with the value 1.
    public static func info(_ name: String, help: String, _ labelSets: [[Label]]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .info, metrics: labelSets.map { Metric($0, 1) })
    }
}
