import Exposition

/// Lookups in metric families for the tests that check what a collector produced.
enum Families {
    /// `name{labels} value` lines of the text format (labels sorted by name).
    static func lines(_ families: [MetricFamily]) -> Set<String> {
        let text = String(decoding: ExpositionEncoder.encode(families, format: .text004), as: UTF8.self)
        return Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
    }

    /// The value of the one sample with exactly these labels, or nil.
    static func value(_ families: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        // An empty label value is no label, to Prometheus: `peer=""` matches a set without `peer`.
        let wanted = labels.filter { !$0.value.isEmpty }
        let matches = families.filter { $0.name == name }.flatMap(\.metrics).filter { m in
            Dictionary(m.labels.filter { !$0.value.isEmpty }.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) == wanted
        }
        guard matches.count == 1, case let .value(v) = matches[0].value else { return nil }
        return v
    }

    /// The samples of `name` whose labels include `filter`.
    static func samples(_ families: [MetricFamily], _ name: String, where filter: [String: String]) -> [Metric] {
        families.filter { $0.name == name }.flatMap(\.metrics).filter { m in
            filter.allSatisfy { k, v in m.labels.contains(Label(k, v)) }
        }
    }
}
