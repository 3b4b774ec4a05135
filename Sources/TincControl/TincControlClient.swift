import POSIXSupport
import Dispatch
import Glibc
import Logging

/// A client for tinc 1.1's control socket (`tinc` CLI's protocol): the pid and cookie come
/// from the pidfile, the socket is the pidfile's path with `.pid` replaced by `.socket`
/// (names.c), then `0 ^COOKIE 0` authenticates and `18 REQ` requests follow (control.c).
/// Each public call opens one connection, runs its requests under one deadline, and closes it.
/// Blocking I/O runs on the client's serial queue, never on Swift's cooperative pool.
public final class TincControlClient: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var net: String
        /// tincd's pidfile; default `/var/run/tinc.<net>.pid` (1.1 names.c with LOCALSTATEDIR=/var).
        public var pidfile: String?
        /// The control socket; default: the pidfile path with `.pid` replaced by `.socket`.
        public var socketPath: String?
        /// Deadline of one call (connect, handshake and all its requests).
        public var timeout: Duration
        /// Replies larger than this fail with `.tooLarge`.
        public var maxReplyBytes: Int

        public init(net: String = "bgpmesh", pidfile: String? = nil, socketPath: String? = nil,
                    timeout: Duration = .seconds(5), maxReplyBytes: Int = 32 << 20) {
            self.net = net
            self.pidfile = pidfile
            self.socketPath = socketPath
            self.timeout = timeout
            self.maxReplyBytes = maxReplyBytes
        }

        public var pidfilePath: String { pidfile ?? "/var/run/tinc.\(net).pid" }

        public var socketFilePath: String {
            if let socketPath { return socketPath }
            let pid = pidfilePath
            return pid.hasSuffix(".pid") ? String(pid.dropLast(4)) + ".socket" : pid + ".socket"
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let queue: DispatchQueue

    public init(configuration: Configuration, logger: Logger = Logger(label: "bgpmesh.tinc")) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "tinc_socket"] = .string(configuration.socketFilePath)
        self.logger = logger
        queue = DispatchQueue(label: "bgpmesh.tinc-control.\(configuration.net)")
    }

    /// Nodes, edges, subnets and connections, from one connection. The dialect (pre15/16 or
    /// pre17+) is told by the node lines' field count.
    public func snapshot() async throws(TincControlError) -> TincSnapshot {
        try await run { session throws(TincControlError) in
            var dump = try Self.dumpAll(session)
            dump.pid = session.pid
            return TincSnapshot(dump: dump, capturedAt: .now, capturedAtUnixTime: TincSyscall.unixTime())
        }
    }

    public func snapshotSync() throws(TincControlError) -> TincSnapshot {
        try runSync { session throws(TincControlError) in
            var dump = try Self.dumpAll(session)
            dump.pid = session.pid
            return TincSnapshot(dump: dump, capturedAt: .now, capturedAtUnixTime: TincSyscall.unixTime())
        }
    }

    public func dumpNodes() async throws(TincControlError) -> (nodes: [TincNode], dialect: TincDialect) {
        try await run { session throws(TincControlError) in try Self.nodes(session) }
    }

    public func dumpEdges() async throws(TincControlError) -> [TincEdge] {
        try await run { session throws(TincControlError) in
            try Self.items(session, .dumpEdges) { (item) throws(TincParseError) in try TincEdge(tinc11Item: item) }
        }
    }

    public func dumpSubnets() async throws(TincControlError) -> [TincSubnet] {
        try await run { session throws(TincControlError) in
            try Self.items(session, .dumpSubnets) { (item) throws(TincParseError) in try TincSubnet(tinc11Item: item) }
        }
    }

    public func dumpConnections() async throws(TincControlError) -> [TincConnection] {
        try await run { session throws(TincControlError) in
            try Self.items(session, .dumpConnections) { (item) throws(TincParseError) in try TincConnection(tinc11Item: item) }
        }
    }

    /// `tinc reload`: tincd rereads its configuration. Throws `.daemon` when tincd reports failure.
    public func reload() async throws(TincControlError) {
        try await run { session throws(TincControlError) in try Self.command(session, .reload) }
    }

    /// `tinc retry`: retry outgoing connections now.
    public func retry() async throws(TincControlError) {
        try await run { session throws(TincControlError) in try Self.command(session, .retry) }
    }

    /// `tinc purge`: forget unreachable nodes.
    public func purge() async throws(TincControlError) {
        try await run { session throws(TincControlError) in try Self.command(session, .purge) }
    }

    // MARK: Requests

    static func dumpAll(_ session: TincControlSession) throws(TincControlError) -> TincDump {
        let (nodes, dialect) = try nodes(session)
        let edges = try items(session, .dumpEdges) { (item) throws(TincParseError) in try TincEdge(tinc11Item: item) }
        let subnets = try items(session, .dumpSubnets) { (item) throws(TincParseError) in try TincSubnet(tinc11Item: item) }
        let connections = try items(session, .dumpConnections) { (item) throws(TincParseError) in try TincConnection(tinc11Item: item) }
        return TincDump(dialect: dialect, nodes: nodes, edges: edges, subnets: subnets, connections: connections)
    }

    static func nodes(_ session: TincControlSession) throws(TincControlError) -> (nodes: [TincNode], dialect: TincDialect) {
        var dialect = TincDialect.tinc11pre15
        let nodes = try items(session, .dumpNodes) { (item) throws(TincParseError) in
            if TincNode.tinc11Dialect(ofItem: item) == .tinc11pre17 { dialect = .tinc11pre17 }
            return try TincNode(tinc11Item: item)
        }
        return (nodes, dialect)
    }

    static func items<T>(_ session: TincControlSession, _ request: TincControlRequest,
                         _ parse: (Substring) throws(TincParseError) -> T) throws(TincControlError) -> [T] {
        try session.send("\(TincControlParser.controlCode) \(request.rawValue)", request: request.name)
        var out: [T] = []
        while true {
            let line = try session.readLine(request: request.name)
            do {
                switch try TincControlParser.reply(Substring(line), to: request) {
                case .end: return out
                case .item(let item): out.append(try parse(item))
                case .result(let value): throw TincControlError.daemon(request: request.name, result: value)
                }
            } catch let error as TincParseError {
                throw .malformed(request: request.name, error)
            } catch let error as TincControlError {
                throw error
            } catch {
                throw .malformed(request: request.name, .malformedLine(kind: "control reply", line: line, reason: "\(error)"))
            }
        }
    }

    static func command(_ session: TincControlSession, _ request: TincControlRequest) throws(TincControlError) {
        try session.send("\(TincControlParser.controlCode) \(request.rawValue)", request: request.name)
        let line = try session.readLine(request: request.name)
        let reply: TincControlParser.Reply
        do {
            reply = try TincControlParser.reply(Substring(line), to: request)
        } catch {
            throw .malformed(request: request.name, error)
        }
        switch reply {
        case .result(0), .end: return
        case .result(let value): throw .daemon(request: request.name, result: value)
        case .item: throw .malformed(request: request.name, .malformedLine(kind: "control reply", line: line, reason: "expected a result"))
        }
    }

    // MARK: Connections

    private func run<T: Sendable>(_ body: @escaping @Sendable (TincControlSession) throws(TincControlError) -> T) async throws(TincControlError) -> T {
        let result: Result<T, TincControlError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.perform(body)) }
        }
        return try result.get()
    }

    private func runSync<T>(_ body: (TincControlSession) throws(TincControlError) -> T) throws(TincControlError) -> T {
        try queue.sync { perform(body) }.get()
    }

    private func perform<T>(_ body: (TincControlSession) throws(TincControlError) -> T) -> Result<T, TincControlError> {
        do throws(TincControlError) {
            let session = try TincControlSession.open(configuration: configuration)
            defer { session.close() }
            return .success(try body(session))
        } catch {
            logger.debug("tinc control request failed", metadata: ["error": .string(error.description)])
            return .failure(error)
        }
    }
}

/// One authenticated control connection (blocking, every wait bounded by the call's deadline).
final class TincControlSession {
    private let handle: FileDescriptor
    private let deadline: Deadline
    private let timeout: Duration
    private let limit: Int
    private var buffer: [UInt8] = []
    private var received = 0
    private(set) var pid: Int32 = 0
    private(set) var name = ""

    private init(handle: FileDescriptor, timeout: Duration, limit: Int) {
        self.handle = handle
        self.timeout = timeout
        self.limit = limit
        deadline = Deadline(after: timeout)
    }

    func close() { handle.close() }

    static func open(configuration: TincControlClient.Configuration) throws(TincControlError) -> TincControlSession {
        let pidfilePath = configuration.pidfilePath
        let pidfile = try TincPidfile.read(pidfilePath)
        guard let cookie = pidfile.cookie else { throw .wrongVersion(pidfile: pidfilePath, expected: "1.1", found: "1.0") }
        if kill(pidfile.pid, 0) != 0 && errno == ESRCH { throw .notRunning(pid: pidfile.pid, pidfile: pidfilePath) }

        let path = configuration.socketFilePath
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: path) } catch { throw .invalidPath(error) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .connect(path: path, call: "socket", errno: errno) }
        let session = TincControlSession(handle: FileDescriptor(fd), timeout: configuration.timeout, limit: configuration.maxReplyBytes)
        let connected = address.withSockaddr { generic, length in Syscall.retryingEINTR { connect(fd, generic, length) } }
        if connected != 0 {
            guard errno == EINPROGRESS || errno == EAGAIN else { throw .connect(path: path, call: "connect", errno: errno) }
            try session.wait(for: Int16(POLLOUT), request: "connect")
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw .connect(path: path, call: "connect", errno: error) }
        }
        try session.send("0 ^\(cookie) 0", request: "handshake")
        do {
            let idLine = try session.readLine(request: "handshake")
            let ackLine = try session.readLine(request: "handshake")
            let greeting = try TincControlParser.greeting(idLine: Substring(idLine), ackLine: Substring(ackLine))
            session.pid = greeting.pid
            session.name = greeting.name
        } catch let error as TincParseError {
            throw .handshake(path: path, reason: error.description)
        } catch TincControlError.closed {
            throw .handshake(path: path, reason: "tincd closed the connection (wrong cookie, or not a tinc 1.1 control socket)")
        } catch let error as TincControlError {
            throw error
        } catch {
            throw .handshake(path: path, reason: "\(error)")
        }
        return session
    }

    func send(_ line: String, request: String) throws(TincControlError) {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Syscall.retryingEINTR { Glibc.send(handle.rawValue, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL)) }
            }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try wait(for: Int16(POLLOUT), request: request)
                continue
            }
            throw .io(request: request, call: "send", errno: n < 0 ? errno : EPIPE)
        }
    }

    /// The next line without its newline. A line ends at `\n` wherever the reads split it.
    func readLine(request: String) throws(TincControlError) -> String {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            let n = chunk.withUnsafeMutableBytes { raw in
                Syscall.retryingEINTR { recv(handle.rawValue, raw.baseAddress, raw.count, 0) }
            }
            if n > 0 {
                buffer += chunk[0..<n]
                received += n
                if received > limit { throw .tooLarge(request: request, limit: limit) }
                continue
            }
            if n == 0 { throw .closed(request: request, receivedBytes: received) }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw .io(request: request, call: "recv", errno: errno) }
            try wait(for: Int16(POLLIN), request: request)
        }
    }

    func wait(for events: Int16, request: String) throws(TincControlError) {
        while true {
            let milliseconds = deadline.remainingMilliseconds
            guard milliseconds > 0 else { throw .timeout(request: request, after: timeout) }
            var descriptor = pollfd(fd: handle.rawValue, events: events, revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready == 0 { continue }
            if errno == EINTR { continue }
            throw .io(request: request, call: "poll", errno: errno)
        }
    }
}
