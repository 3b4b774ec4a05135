/// What the server did with one request, for metrics and access logs.
public struct HTTPExchange: Sendable, Equatable {
    /// nil when the request could not be parsed (400, 408, 414, ...) or the connection was refused (503).
    public var method: String?
    /// nil when the request could not be parsed or the connection was refused.
    public var path: String?
    public var status: Int
    /// From the end of the request to the response being queued for writing.
    public var duration: Duration
    public var remoteAddress: String

    public init(method: String?, path: String?, status: Int, duration: Duration, remoteAddress: String) {
        self.method = method
        self.path = path
        self.status = status
        self.duration = duration
        self.remoteAddress = remoteAddress
    }
}
