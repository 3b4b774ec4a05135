/// Handles one request and produces its response; runs off the event loop.
public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

/// A handler that does no I/O and returns at once (a cached page, a health check),
/// so the server may run it on its event-loop thread and skip a thread hop.
public typealias HTTPImmediateHandler = @Sendable (HTTPRequest) -> HTTPResponse

/// Exact-path router: unknown path gives 404; known path with another method gives 405 with `Allow`.
/// HEAD is served by the GET handler wherever no HEAD handler is registered (the server drops the body).
public struct HTTPRouter: Sendable {
    private enum Route: Sendable {
        case async(HTTPHandler)
        case immediate(HTTPImmediateHandler)
    }

    private var routes: [String: [String: Route]] = [:]

    public init() {}

    public mutating func add(_ methods: [String], _ path: String, _ handler: @escaping HTTPHandler) {
        for method in methods {
            routes[path, default: [:]][method.uppercased()] = .async(handler)
        }
    }

    /// Registers a handler that must not block: it runs on the event loop.
    public mutating func addImmediate(_ methods: [String], _ path: String, _ handler: @escaping HTTPImmediateHandler) {
        for method in methods {
            routes[path, default: [:]][method.uppercased()] = .immediate(handler)
        }
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        switch route(request) {
        case let .handler(.async(handler)): return await handler(request)
        case let .handler(.immediate(handler)): return handler(request)
        case let .response(response): return response
        }
    }

    /// The response when the request needs no work off the loop (an immediate
    /// route, a 404 or a 405); nil when an async handler must run.
    public func immediateResponse(_ request: HTTPRequest) -> HTTPResponse? {
        switch route(request) {
        case .handler(.async): return nil
        case let .handler(.immediate(handler)): return handler(request)
        case let .response(response): return response
        }
    }

    public var handler: HTTPHandler {
        { [self] request in await self.handle(request) }
    }

    /// `immediateResponse` as a value to pass to `HTTPServer`.
    public var immediateHandler: @Sendable (HTTPRequest) -> HTTPResponse? {
        { [self] request in self.immediateResponse(request) }
    }

    private enum Resolution {
        case handler(Route)
        case response(HTTPResponse)
    }

    private func route(_ request: HTTPRequest) -> Resolution {
        guard let methods = routes[request.path] else {
            return .response(.text(404, "404 Not Found\n"))
        }
        if let route = methods[request.method] ?? (request.method == "HEAD" ? methods["GET"] : nil) {
            return .handler(route)
        }
        var response = HTTPResponse.text(405, "405 Method Not Allowed\n")
        response.headers.add("Allow", allowedMethods(methods).joined(separator: ", "))
        return .response(response)
    }

    private func allowedMethods(_ methods: [String: Route]) -> [String] {
        var allowed = Set(methods.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return allowed.sorted()
    }
}
