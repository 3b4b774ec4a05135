/// The exposition formats the encoder can write.
public enum ExpositionFormat: Sendable, Equatable {
    /// Prometheus text format 0.0.4.
    case text004
    /// OpenMetrics 1.0.0 text format.
    case openMetrics100

    /// The `Content-Type` header value for a response in this format.
    public var contentType: String {
        switch self {
        case .text004: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics100: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}
