import Exposition
import HTTPServer
import Synchronization

/// The handlers behind the agent's read-only endpoints.
struct AgentPages: Sendable {
    let collectors: CollectorSet
    let httpMetrics: HTTPRequestMetrics
    /// Present when the JSON API is served.
    var webhookMetrics: WebhookMetrics? = nil
    /// The repair loop (status, health, repairs) and the mesh's views, for the map page.
    var repair: (any RepairService)? = nil
    var mesh: MeshSource? = nil

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

    /// The mesh map and status page (`MeshMapPage`), rendered per request from the repair
    /// loop's status and the registry's views.
    func landing(_ request: HTTPRequest) async -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"]
        // Only the page's own inline script and style run; it talks to this agent alone.
        headers.add("Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'")
        headers.add("X-Content-Type-Options", "nosniff")
        return HTTPResponse(status: 200, headers: headers, body: Array(await renderLanding().utf8))
    }

    func renderLanding() async -> String {
        var status: StatusDigest?
        if let repair { status = try? StatusDigest.decode(await repair.statusJSON()) }
        let mesh = await meshDocument(status: status)
        let reports = collectors.lastReports.map { MeshMapPage.Collector(name: $0.name, success: $0.success, error: $0.error) }
        return MeshMapPage.render(mesh: mesh, status: status, version: BuildInfo.versionLine, collectors: reports, api: repair != nil)
    }

    /// The merged mesh; without a registry, this node alone.
    func meshDocument(status: StatusDigest? = nil) async -> MeshDocument {
        if let mesh { return await mesh.document() }
        return MeshDocument.merge(me: status?.node, registry: [], local: nil, views: [:])
    }

    func meshJSON(_ request: HTTPRequest) async -> HTTPResponse {
        var status: StatusDigest?
        if mesh == nil, let repair { status = try? StatusDigest.decode(await repair.statusJSON()) }
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
                            body: await meshDocument(status: status).json)
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
