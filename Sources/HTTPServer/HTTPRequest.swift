/// One parsed HTTP request, as handed to an `HTTPHandler`.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The raw request-target (RFC 9112 §3.2).
    public var target: String
    /// The path part of the target, before `?`; for absolute-form, the path of the URI.
    public var path: String
    /// The raw query after `?`, if any.
    public var query: String?
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// "127.0.0.1:54321" or "[::1]:54321".
    public var remoteAddress: String

    public init(
        method: String, target: String, version: String = "HTTP/1.1",
        headers: HTTPHeaders = [:], body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        (path, query) = Self.split(target: target)
    }

    static func split(target: String) -> (path: String, query: String?) {
        var pathAndQuery = Substring(target)
        // absolute-form (RFC 9112 §3.2.2): drop "scheme://authority".
        if !target.hasPrefix("/"), let schemeEnd = target.utf8.firstRange(of: "://".utf8) {
            let rest = target[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            pathAndQuery = rest[authorityEnd...]
            if pathAndQuery.isEmpty || pathAndQuery.first == "?" { pathAndQuery = Substring("/" + String(pathAndQuery)) }
        }
        guard let mark = pathAndQuery.firstIndex(of: "?") else { return (String(pathAndQuery), nil) }
        return (String(pathAndQuery[..<mark]), String(pathAndQuery[pathAndQuery.index(after: mark)...]))
    }

    /// Whether the client lets the connection persist after this request (RFC 9112 §9.3).
    var wantsKeepAlive: Bool {
        let connection = headers.tokens("Connection")
        if connection.contains("close") { return false }
        return version == "HTTP/1.1" || connection.contains("keep-alive")
    }
}
