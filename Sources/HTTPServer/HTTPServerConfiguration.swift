/// Listen addresses, limits and timeouts of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// ":10179" (every address, dual-stack), "0.0.0.0:10179", "127.0.0.1:0", "[::1]:8080".
    public var listenAddresses: [String]
    /// Longer request lines get 414.
    public var maxRequestLineBytes: Int = 8192
    /// A larger header section (or trailer section) gets 431.
    public var maxHeaderBytes: Int = 16384
    /// More header fields get 431.
    public var maxHeaderCount: Int = 100
    /// A larger body, by Content-Length or chunked, gets 413.
    public var maxBodyBytes: Int = 1 << 20
    /// Connections beyond this are answered 503 and closed.
    public var maxConnections: Int = 1024
    /// A request, once started (or a new connection), must arrive completely within this; else 408.
    public var readTimeout: Duration = .seconds(10)
    /// A keep-alive connection with nothing in flight is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// A response must be written completely within this; else the connection is closed.
    public var writeTimeout: Duration = .seconds(30)

    public init(listenAddresses: [String] = [":10179"]) {
        self.listenAddresses = listenAddresses
    }

    var parserLimits: HTTPRequestParser.Limits {
        HTTPRequestParser.Limits(
            maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes,
            maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
    }
}
