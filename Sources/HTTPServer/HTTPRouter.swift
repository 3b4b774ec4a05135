/// Handles one request and produces its response; runs off the event loop.
public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

/// Exact-path router: unknown path gives 404; known path with another method gives 405 with `Allow`.
/// HEAD is served by the GET handler wherever no HEAD handler is registered (the server drops the body).
public struct HTTPRouter: Sendable {
    private var routes: [String: [String: HTTPHandler]] = [:]

    public init() {}

    public mutating func add(_ methods: [String], _ path: String, _ handler: @escaping HTTPHandler) {
        for method in methods {
            routes[path, default: [:]][method.uppercased()] = handler
        }
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard let methods = routes[request.path] else {
            return .text(404, "404 Not Found\n")
        }
        if let handler = methods[request.method] ?? (request.method == "HEAD" ? methods["GET"] : nil) {
            return await handler(request)
        }
        var response = HTTPResponse.text(405, "405 Method Not Allowed\n")
        response.headers.add("Allow", allowedMethods(methods).joined(separator: ", "))
        return response
    }

    public var handler: HTTPHandler {
        { [self] request in await self.handle(request) }
    }

    private func allowedMethods(_ methods: [String: HTTPHandler]) -> [String] {
        var allowed = Set(methods.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return allowed.sorted()
    }
}
