import Exposition
import HTTPServer
import Synchronization

/// The handlers behind the agent's read-only endpoints.
struct AgentPages: Sendable {
    let collectors: CollectorSet
    let httpMetrics: HTTPRequestMetrics
    /// Present when the JSON API is served.
    var webhookMetrics: WebhookMetrics? = nil
    /// The landing page only changes when a collection finishes, so it is rendered once per collection.
    let landingCache = LandingCache()

    func gather() async -> [MetricFamily] {
        var families = await collectors.collect().families
        families.append(BuildInfo.family)
        families.append(httpMetrics.family)
        if let webhookMetrics { families += webhookMetrics.families }
        return families
    }

    func metrics(_ request: HTTPRequest) async -> HTTPResponse {
        let format = ExpositionFormat.negotiate(accept: request.headers["Accept"])
        var body = ExpositionEncoder.encode(await gather(), format: format)
        var headers: HTTPHeaders = ["Content-Type": format.contentType, "Vary": "Accept, Accept-Encoding"]
        if Gzip.isAccepted(acceptEncoding: request.headers["Accept-Encoding"]),
           let compressed = try? Gzip.compress(body, level: 1) {
            body = compressed
            headers.add("Content-Encoding", "gzip")
        }
        return HTTPResponse(status: 200, headers: headers, body: body)
    }

    func readiness() -> HTTPResponse {
        if collectors.isReady { return .text(200, "ready\n") }
        let done = Set(collectors.lastReports.map(\.name))
        let waiting = collectors.collectors.map(\.name).filter { !done.contains($0) }
        return .text(503, "not ready: waiting for the first collection of " + waiting.joined(separator: ", ") + "\n")
    }

    func landing(_ request: HTTPRequest) -> HTTPResponse {
        let body = landingCache.page(generation: collectors.collectionsRun) { renderLanding() }
        return HTTPResponse(status: 200, headers: ["Content-Type": "text/html; charset=utf-8"], body: body)
    }

    func renderLanding() -> [UInt8] {
        let api = """
        <li><a href="/api/v1/status">/api/v1/status</a>: health, peers, sessions and recent repairs (JSON)</li>
        <li>POST /api/v1/alerts (Alertmanager webhook) and POST /api/v1/repair, with the bearer token</li>
        """
        let reports = collectors.lastReports.map { report in
            "<tr><td>\(HTML.escape(report.name))</td><td>\(report.success ? "ok" : "failed")</td>"
                + "<td>\(HTML.escape(report.error ?? ""))</td></tr>"
        }.joined(separator: "\n")
        let page = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>bgpmesh-agent</title>
        <style>body{font-family:sans-serif;margin:2em;max-width:50em}td,th{padding:.2em 1em;text-align:left}</style></head>
        <body>
        <h1>bgpmesh-agent</h1>
        <p>Prometheus exporter and health agent for BGP-over-tinc meshes. \(HTML.escape(BuildInfo.versionLine))</p>
        <ul>
        <li><a href="/metrics">/metrics</a>: Prometheus metrics (text 0.0.4 or OpenMetrics, gzip)</li>
        <li><a href="/healthz">/healthz</a>: liveness</li>
        <li><a href="/readyz">/readyz</a>: readiness (every collector has completed once)</li>
        \(webhookMetrics == nil ? "" : api)
        </ul>
        <h2>Collectors</h2>
        <table><tr><th>collector</th><th>last result</th><th>error</th></tr>
        \(reports)
        </table>
        </body>
        </html>

        """
        return Array(page.utf8)
    }
}

/// The last rendered landing page and the collection it shows.
final class LandingCache: Sendable {
    private let cached = Mutex<(generation: Int, page: [UInt8])?>(nil)

    func page(generation: Int, render: () -> [UInt8]) -> [UInt8] {
        if let hit = cached.withLock({ $0 }), hit.generation == generation { return hit.page }
        let page = render()
        cached.withLock { $0 = (generation, page) }
        return page
    }
}

/// Minimal HTML escaping for text that comes from daemons or errors.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
