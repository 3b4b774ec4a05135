import Exposition

/// One source of metrics (a daemon, /proc, …). Collect builds fresh families each
/// time; it must not block past its own I/O deadlines and never crash on input.
public protocol Collector: Sendable {
    /// The `collector` label value, also the `--collector.<name>` flag.
    var name: String { get }
    func collect() async throws -> [MetricFamily]
}
