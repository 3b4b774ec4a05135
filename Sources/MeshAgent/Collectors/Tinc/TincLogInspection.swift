import Exposition
import TincControl

/// What the tinc collector would export from a saved tincd log: for an operator
/// asking "what does the agent see in this log", and for `make bench-tinc`.
public enum TincLogInspection {
    /// The graph families of the newest complete dump in `log`; nil when it holds none.
    public static func families(log: [UInt8]) -> [MetricFamily]? {
        let parsed = TincLogParser.parse(log)
        guard parsed.hasGraph else { return nil }
        return TincMetrics.graph(parsed.merged(connections: parsed))
    }
}
