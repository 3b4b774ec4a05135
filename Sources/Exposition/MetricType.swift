/// The type of a metric family, as written in `# TYPE` lines.
///
/// In text 0.0.4 `info` is written as `gauge` and `unknown` as `untyped`.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram, info, unknown
}
