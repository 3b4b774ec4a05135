/// Checks names and shapes that Prometheus or `promtool check metrics` would reject
/// or complain about. For tests and debug logging: the encoder itself never
/// validates and never crashes.
public enum ExpositionValidation {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` (the classic, non-UTF-8 metric name rule).
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first) || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || isDigit($0) || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, and not starting with `__` (reserved for Prometheus).
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || isDigit($0) }
    }

    /// Human-readable problems, one per line of a test failure; empty when all is well.
    /// Covers each family plus families that share a name with different types.
    public static func problems(_ families: [MetricFamily]) -> [String] {
        var problems: [String] = []
        var types: [String: MetricType] = [:]
        for family in families {
            problems += family.problems
            let key = PreparedFamily.names(of: family, format: .text004).family
            if let known = types[key], known != family.type {
                problems.append("\(family.name): declared as \(known.rawValue) and as \(family.type.rawValue); the encoder drops the later one")
            } else {
                types[key] = family.type
            }
        }
        return problems
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

extension MetricFamily {
    /// Problems with this family alone; see `ExpositionValidation.problems(_:)`.
    public var problems: [String] {
        var problems: [String] = []
        func report(_ text: String) { problems.append("\(name): \(text)") }

        if !ExpositionValidation.isValidMetricName(name) { report("invalid metric name") }
        if help.isEmpty { report("no HELP text") }
        switch type {
        case .counter where !name.hasSuffix("_total"): report("counter name does not end in _total")
        case .info where !name.hasSuffix("_info"): report("info name does not end in _info")
        default: break
        }

        var labelSets = Set<[Label]>()
        for metric in metrics {
            let rendered = "{" + metric.labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
            var names = Set<String>()
            for label in metric.labels {
                if !ExpositionValidation.isValidLabelName(label.name) { report("invalid label name \"\(label.name)\" in \(rendered)") }
                if !names.insert(label.name).inserted { report("label \"\(label.name)\" repeated in \(rendered)") }
                if type == .histogram && label.name == "le" { report("histogram metric carries its own le label in \(rendered)") }
            }
            let sortedLabels = metric.labels.sorted { compareUTF8($0.name, $1.name) < 0 }
            if !labelSets.insert(sortedLabels).inserted { report("label set \(rendered) appears more than once") }

            switch (metric.value, type) {
            case (.histogram(let histogram), .histogram):
                var previous: (upperBound: Double, cumulativeCount: UInt64)?
                for bucket in histogram.buckets {
                    if bucket.upperBound.isNaN { report("NaN bucket bound in \(rendered)") }
                    if bucket.upperBound == .infinity { report("explicit +Inf bucket in \(rendered) (the encoder adds it)") }
                    if let previous, !(bucket.upperBound > previous.upperBound) { report("bucket bounds not ascending in \(rendered)") }
                    if let previous, bucket.cumulativeCount < previous.cumulativeCount { report("bucket counts not cumulative in \(rendered)") }
                    previous = bucket
                }
                if let last = histogram.buckets.last, last.cumulativeCount > histogram.count {
                    report("bucket count exceeds _count in \(rendered)")
                }
            case (.histogram, _):
                report("histogram value in a \(type.rawValue) family at \(rendered)")
            case (.value, .histogram):
                report("plain value in a histogram family at \(rendered)")
            case (.value(let value), .info) where value != 1:
                report("info value \(value) is not 1 at \(rendered)")
            case (.value(let value), .counter) where value < 0 || value.isNaN:
                report("counter value \(value) is negative or NaN at \(rendered)")
            case (.value, _):
                break
            }
        }
        return problems
    }
}
