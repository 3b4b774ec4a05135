import Exposition
import HTTPServer
import Synchronization

/// Counts answered HTTP requests by handler and status code.
/// The handler label is a route path, `other` for unknown paths and
/// `invalid` for requests that never parsed, so the label set stays bounded.
public final class HTTPRequestMetrics: Sendable {
    private struct Key: Hashable { var handler: String; var code: Int }
    private let counts: Mutex<[Key: UInt64]>
    private let routes: Set<String>

    /// Every route starts with a zero for 200, so `rate()` works from the first scrape.
    public init(routes: Set<String>) {
        self.routes = routes
        self.counts = Mutex(Dictionary(uniqueKeysWithValues: routes.map { (Key(handler: $0, code: 200), 0) }))
    }

    public func record(_ exchange: HTTPExchange) {
        let handler: String
        if let path = exchange.path { handler = routes.contains(path) ? path : "other" } else { handler = "invalid" }
        counts.withLock { $0[Key(handler: handler, code: exchange.status), default: 0] += 1 }
    }

    var family: MetricFamily {
        let snapshot = counts.withLock { $0 }
        return .counter("bgpmesh_http_requests_total", help: "HTTP requests answered, by handler and status code.",
                        snapshot.map { Metric([Label("handler", $0.key.handler), Label("code", String($0.key.code))], Double($0.value)) })
    }
}
