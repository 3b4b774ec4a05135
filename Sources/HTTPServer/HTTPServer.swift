import POSIXSupport
import Glibc
import Logging
import Synchronization

/// HTTP/1.1 server on raw sockets and epoll: keep-alive, pipelining, request limits, a connection
/// cap and graceful shutdown. Handlers run as tasks; the epoll loop runs on its own thread.
public final class HTTPServer: Sendable {
    private enum Phase {
        case idle
        case running(EventLoop)
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var boundAddresses: [String] = []
        var shutdownRequested = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let observer: (@Sendable (HTTPExchange) -> Void)?
    private let handler: HTTPHandler
    private let immediate: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    private let state = Mutex(State())

    /// `observer` is called on the event loop thread for every response (keep it cheap).
    /// `immediate`, when given, is tried first on the event loop thread: it answers the
    /// requests that need no I/O (e.g. `HTTPRouter.immediateHandler`) and returns nil
    /// for the rest, which go to `handler` off the loop.
    public init(
        configuration: HTTPServerConfiguration, logger: Logger,
        observer: (@Sendable (HTTPExchange) -> Void)? = nil,
        immediate: (@Sendable (HTTPRequest) -> HTTPResponse?)? = nil,
        handler: @escaping HTTPHandler
    ) {
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        self.immediate = immediate
        self.handler = handler
    }

    /// Binds every listen address (all or nothing) and starts the event loop thread.
    public func start() throws(HTTPServerError) {
        try state.withLock { (state: inout State) throws(HTTPServerError) in
            switch state.phase {
            case .running: throw .alreadyStarted
            case .stopped: throw .alreadyShutDown
            case .idle: break
            }
            // A client that resets mid-response must not kill the process; send also passes MSG_NOSIGNAL.
            signal(SIGPIPE, SIG_IGN)

            guard !configuration.listenAddresses.isEmpty else {
                throw .invalidListenAddress("", reason: "no listen address configured")
            }
            var addresses: [ListenAddress] = []
            for text in configuration.listenAddresses { addresses.append(try ListenAddress(parsing: text)) }
            // On a throw below, the FileDescriptors already created close themselves.
            var listeners: [(FileDescriptor, String)] = []
            for address in addresses { listeners.append(try address.bindListener(backlog: Int32(SOMAXCONN))) }

            let loop = try EventLoop(
                configuration: configuration, logger: logger, observer: observer, immediate: immediate, handler: handler,
                listeners: listeners)
            let result = DetachedThread.spawn(name: "http-loop") { [self] in
                loop.run()
                self.loopDidExit()
            }
            guard result == 0 else { throw .eventLoop(call: "pthread_create", errno: result) }
            state.phase = .running(loop)
            state.boundAddresses = listeners.map(\.1)
            logger.debug("HTTP server listening", metadata: ["addresses": "\(state.boundAddresses.joined(separator: ", "))"])
        }
    }

    /// The addresses actually bound, with ephemeral ports resolved, e.g. ["127.0.0.1:43123"].
    public var boundAddresses: [String] {
        state.withLock { $0.boundAddresses }
    }

    /// Open client connections, not counting those only being refused with 503.
    public var activeConnections: Int {
        state.withLock { state in
            if case .running(let loop) = state.phase { loop.activeCount.load(ordering: .relaxed) } else { 0 }
        }
    }

    /// Stops accepting, lets in-flight requests finish and their responses be written, closes idle
    /// connections, and returns once all are closed; at `gracePeriod` the rest are closed by force.
    /// Idempotent: later calls wait for the same shutdown.
    public func shutdown(gracePeriod: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (loop, resumeNow) = state.withLock { state -> (EventLoop?, Bool) in
                switch state.phase {
                case .idle:
                    state.phase = .stopped
                    return (nil, true)
                case .stopped:
                    return (nil, true)
                case .running(let loop):
                    state.waiters.append(continuation)
                    defer { state.shutdownRequested = true }
                    return (state.shutdownRequested ? nil : loop, false)
                }
            }
            if resumeNow { continuation.resume() }
            loop?.requestShutdown(gracePeriod: gracePeriod)
        }
    }

    private func loopDidExit() {
        let waiters = state.withLock { state in
            state.phase = .stopped
            defer { state.waiters = [] }
            return state.waiters
        }
        logger.debug("HTTP server stopped")
        for waiter in waiters { waiter.resume() }
    }
}
