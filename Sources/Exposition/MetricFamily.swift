/// A named set of metrics of one type, built fresh on every scrape.
///
/// `name` is the text 0.0.4 name: counters end in `_total`, info families in
/// `_info`. The OpenMetrics encoder derives the family name by dropping that suffix.
///
/// Its metrics are a list of `Metric`s, a `SampleTable`, or both; `metrics`
/// always shows them all as `Metric`s.
public struct MetricFamily: Sendable, Equatable {
    public var name: String
    public var help: String
    public var type: MetricType
    /// Metrics given one by one.
    var listed: [Metric]
    /// Metrics given as a table; written after `listed` (the encoder sorts anyway).
    var table: SampleTable?

    /// Every metric of the family. Setting it replaces the table too.
    public var metrics: [Metric] {
        get {
            guard let table, !table.isEmpty else { return listed }
            return listed.isEmpty ? table.metrics() : listed + table.metrics()
        }
        set {
            listed = newValue
            table = nil
        }
    }

    public init(name: String, help: String, type: MetricType, metrics: [Metric]) {
        self.name = name
        self.help = help
        self.type = type
        self.listed = metrics
        self.table = nil
    }

    /// A family whose samples come from a table (plain values only, so not a histogram).
    public init(name: String, help: String, type: MetricType, table: SampleTable) {
        self.name = name
        self.help = help
        self.type = type
        self.listed = []
        self.table = table
    }

    /// Equal when name, help, type and metrics are, however the metrics are stored.
    public static func == (a: MetricFamily, b: MetricFamily) -> Bool {
        a.name == b.name && a.help == b.help && a.type == b.type && a.metrics == b.metrics
    }

    public static func counter(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .counter, metrics: metrics)
    }

    public static func gauge(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, metrics: metrics)
    }

    public static func counter(_ name: String, help: String, _ table: SampleTable) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .counter, table: table)
    }

    public static func gauge(_ name: String, help: String, _ table: SampleTable) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, table: table)
    }

    /// An info family from a table; the encoder writes every sample as 1.
    public static func info(_ name: String, help: String, _ table: SampleTable) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .info, table: table)
    }

    public static func histogram(_ name: String, help: String, _ metrics: [Metric]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .histogram, metrics: metrics)
    }

    /// An info family: one sample per label set, each with the value 1.
    public static func info(_ name: String, help: String, _ labelSets: [[Label]]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .info, metrics: labelSets.map { Metric($0, 1) })
    }
}
