import Glibc
import POSIXSupport

extension EtcdClient {
    /// TLS to etcd (`--etcd.ca-file`, `--etcd.cert-file`, `--etcd.key-file`): the CA that
    /// signed the server certificates, and the client certificate and key for etcd's
    /// `--client-cert-auth`. Used for https:// endpoints; PEM files.
    public struct TLS: Sendable, Hashable {
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// User and password for etcd's auth. The client trades them for a token at the first
    /// call and again whenever etcd refuses the token.
    public struct Credentials: Sendable, Hashable, CustomStringConvertible {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }

        /// Never prints the password.
        public var description: String { "\(username):<redacted>" }
    }

    public struct Configuration: Sendable {
        /// `--etcd.endpoints`: `http://host:port` or `https://host:port`; `host:port` means
        /// http (https with `tls`). Calls go to one endpoint and fail over to the next.
        public var endpoints: [String]
        public var tls: TLS?
        public var credentials: Credentials?
        /// Connecting (TCP and TLS) to one endpoint.
        public var connectTimeout: Duration
        /// Total time of one call, failover, token refresh and queueing included. For a
        /// watch: the time to establish each connection (until etcd confirms the watch).
        public var requestTimeout: Duration
        /// A larger reply fails with `.tooLarge`; also the longest line of a watch stream. Paged
        /// reads (`rangeAll`) and watch lines allow at least `EtcdClient.minimumPageBytes`, so
        /// one value as large as etcd accepts always fits.
        public var maxResponseBytes: Int
        /// Threads for unary calls: at most that many calls run at once, each thread with its own
        /// connection. One runs from the start; the others start when calls wait and end after
        /// a minute without one. Each watch has a thread of its own besides these.
        public var threads: Int
        /// A watch gives up (throws `.unavailable`) after this many reconnects in a row that
        /// did not reach a created watch.
        public var watchRetryLimit: Int
        /// Pause before the first reconnect of a watch, doubled per failure up to the maximum,
        /// with jitter (`Backoff`: each pause lies between half its step and the step).
        public var watchBackoff: Duration
        public var watchBackoffMax: Duration

        public init(endpoints: [String], tls: TLS? = nil, credentials: Credentials? = nil,
                    connectTimeout: Duration = .seconds(2), requestTimeout: Duration = .seconds(5),
                    maxResponseBytes: Int = 32 << 20, threads: Int = 4, watchRetryLimit: Int = 10,
                    watchBackoff: Duration = .milliseconds(100), watchBackoffMax: Duration = .seconds(2)) {
            self.endpoints = endpoints
            self.tls = tls
            self.credentials = credentials
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.maxResponseBytes = maxResponseBytes
            self.threads = threads
            self.watchRetryLimit = watchRetryLimit
            self.watchBackoff = watchBackoff
            self.watchBackoffMax = watchBackoffMax
        }
    }
}

extension EtcdClient.Configuration {
    /// The endpoints as `scheme://host:port`, or why the configuration cannot work.
    public func validatedEndpoints() throws(EtcdError) -> [String] {
        guard !endpoints.isEmpty else { throw .invalidConfiguration("no endpoints") }
        var result: [String] = []
        for raw in endpoints {
            let endpoint = try Self.normalize(raw, defaultScheme: tls == nil ? "http" : "https")
            if !result.contains(endpoint) { result.append(endpoint) }
        }
        if let tls {
            for (flag, path) in [("ca-file", tls.caFile), ("cert-file", tls.certFile), ("key-file", tls.keyFile)] {
                if let path, access(path, R_OK) != 0 {
                    throw .invalidConfiguration("etcd \(flag) \(path) is not readable: \(Syscall.errorText(errno, call: "access"))")
                }
            }
            if (tls.certFile == nil) != (tls.keyFile == nil) {
                throw .invalidConfiguration("a client certificate needs both cert-file and key-file")
            }
        }
        guard connectTimeout > .zero, requestTimeout > .zero else { throw .invalidConfiguration("timeouts must be positive") }
        guard maxResponseBytes >= 1024 else { throw .invalidConfiguration("maxResponseBytes must be at least 1024") }
        guard threads >= 1, threads <= 64 else { throw .invalidConfiguration("threads must be 1...64") }
        return result
    }

    static func normalize(_ raw: String, defaultScheme: String) throws(EtcdError) -> String {
        var text = raw.trimmingSpaces()
        if !text.contains("://") { text = defaultScheme + "://" + text }
        guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw .invalidConfiguration("endpoint \(raw.debugDescription) is not http:// or https://")
        }
        while text.hasSuffix("/") && !text.hasSuffix("://") { text.removeLast() }
        let authority = text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard authority.count == 3, !authority[2].isEmpty,
              !authority[2].contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0 == " " }) else {
            throw .invalidConfiguration("endpoint \(raw.debugDescription) is not scheme://host:port")
        }
        return text
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
