import POSIXSupport
import Glibc
import Logging
import Synchronization

/// The epoll loop behind `HTTPServer`: accepts, reads, parses, runs handlers as tasks and writes
/// their responses in order. Everything except `inbox` and `activeCount` is touched only by the loop
/// thread, which is what makes the unchecked Sendable sound.
final class EventLoop: @unchecked Sendable {
    struct Listener {
        let descriptor: FileDescriptor
        let address: String
        /// Monotonic time the listener resumes after an accept error; 0 when active.
        var pausedUntil: UInt64 = 0
        /// Accept failures in a row; only the first of a streak is logged as a warning.
        var failures = 0
    }

    /// State shared with handler tasks and `HTTPServer.shutdown`.
    struct Inbox {
        var completions: [(id: UInt64, response: HTTPResponse)] = []
        var shutdownDeadline: UInt64?
        var wakePending = false
        var closed = false
        let wakeDescriptor: FileDescriptor
    }

    static let wakeID: UInt64 = 0
    static let firstConnectionID: UInt64 = 1 << 32
    static let readChunk = 64 * 1024
    static let maxReadPerEvent = 256 * 1024
    static let acceptBatch = 64
    static let acceptBackoff: UInt64 = 100_000_000
    /// Connections beyond `maxConnections` kept open just long enough to deliver their 503.
    static let maxRefusals = 64
    static let maxDiscardedBytes = 1 << 20

    let configuration: HTTPServerConfiguration
    let limits: HTTPRequestParser.Limits
    let logger: Logger
    let observer: (@Sendable (HTTPExchange) -> Void)?
    let handler: HTTPHandler
    let immediate: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    let readTimeout: UInt64
    let idleTimeout: UInt64
    let writeTimeout: UInt64
    let lingerTimeout: UInt64

    let activeCount = Atomic<Int>(0)
    private let inbox: Mutex<Inbox>
    private let wakeDescriptor: Int32

    let epoll: Epoll
    var listeners: [Listener]
    var connections: [UInt64: Connection] = [:]
    var nextConnectionID = EventLoop.firstConnectionID
    var refusalCount = 0
    var now: UInt64
    var nextTimerCheck = UInt64.max
    var draining = false
    var shutdownDeadline: UInt64?
    var finished = false
    var date = HTTPDate()
    let readBuffer: UnsafeMutableRawBufferPointer

    init(
        configuration: HTTPServerConfiguration, logger: Logger, observer: (@Sendable (HTTPExchange) -> Void)?,
        immediate: (@Sendable (HTTPRequest) -> HTTPResponse?)? = nil,
        handler: @escaping HTTPHandler, listeners: [(FileDescriptor, String)]
    ) throws(HTTPServerError) {
        self.configuration = configuration
        self.limits = configuration.parserLimits
        self.logger = logger
        self.observer = observer
        self.immediate = immediate
        self.handler = handler
        readTimeout = max(configuration.readTimeout.clampedNanoseconds, 1)
        idleTimeout = max(configuration.idleTimeout.clampedNanoseconds, 1)
        writeTimeout = max(configuration.writeTimeout.clampedNanoseconds, 1)
        lingerTimeout = min(readTimeout, 2_000_000_000)
        now = Syscall.monotonicNanoseconds()

        epoll = try Epoll()
        let wake = LinuxAPI.eventFD(0, LinuxAPI.eventFDFlags)
        guard wake >= 0 else { throw .eventLoop(call: "eventfd", errno: errno) }
        let wakeOwner = FileDescriptor(wake)
        wakeDescriptor = wake
        inbox = Mutex(Inbox(wakeDescriptor: wakeOwner))
        self.listeners = listeners.map { Listener(descriptor: $0.0, address: $0.1) }
        readBuffer = .allocate(byteCount: Self.readChunk, alignment: 16)

        let wakeError = epoll.add(wake, id: Self.wakeID, events: LinuxAPI.epollIn)
        guard wakeError == 0 else { throw .eventLoop(call: "epoll_ctl", errno: wakeError) }
        for (index, listener) in self.listeners.enumerated() {
            let error = epoll.add(listener.descriptor.rawValue, id: UInt64(index + 1), events: LinuxAPI.epollIn)
            guard error == 0 else { throw .eventLoop(call: "epoll_ctl", errno: error) }
        }
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: - Called from other threads

    /// Hands a handler's response back to the loop.
    func complete(_ id: UInt64, _ response: HTTPResponse) {
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            inbox.completions.append((id, response))
            Self.wake(&inbox)
        }
    }

    /// Returns false when the loop has already ended.
    @discardableResult
    func requestShutdown(gracePeriod: Duration) -> Bool {
        let deadline = Syscall.monotonicNanoseconds() &+ gracePeriod.clampedNanoseconds
        return inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.shutdownDeadline = min(inbox.shutdownDeadline ?? .max, deadline)
            Self.wake(&inbox)
            return true
        }
    }

    private static func wake(_ inbox: inout Inbox) {
        guard !inbox.wakePending else { return }
        inbox.wakePending = true
        var one: UInt64 = 1
        _ = Syscall.retryingEINTR { write(inbox.wakeDescriptor.rawValue, &one, 8) }
    }

    // MARK: - The loop

    func run() {
        logger.debug("HTTP event loop started", metadata: ["listeners": "\(listeners.map(\.address))"])
        while !finished {
            let count = epoll.wait(timeoutMilliseconds: pollTimeout())
            now = Syscall.monotonicNanoseconds()
            if count < 0 {
                logger.error("epoll_wait failed, stopping the HTTP server", metadata: ["errno": "\(errno)"])
                break
            }
            for index in 0..<count {
                let (id, events) = epoll.event(at: index)
                if id == Self.wakeID {
                    drainInbox()
                } else if id < Self.firstConnectionID {
                    acceptConnections(listener: Int(id) - 1)
                } else if let connection = connections[id] {
                    handleEvents(events, on: connection)
                }
            }
            if now >= nextTimerCheck { sweepTimers() }
            if draining { checkShutdownProgress() }
        }
        tearDown()
    }

    private func pollTimeout() -> Int32 {
        guard nextTimerCheck != .max else { return -1 }
        let current = Syscall.monotonicNanoseconds()
        guard nextTimerCheck > current else { return 0 }
        return Int32(clamping: (nextTimerCheck - current + 999_999) / 1_000_000)
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = Syscall.retryingEINTR { read(wakeDescriptor, &counter, 8) }
        let (completions, shutdown) = inbox.withLock { inbox in
            inbox.wakePending = false
            let completions = inbox.completions
            inbox.completions = []
            return (completions, inbox.shutdownDeadline)
        }
        for (id, response) in completions {
            if let connection = connections[id] { handlerFinished(connection, response) }
        }
        if let shutdown { beginShutdown(deadline: shutdown) }
    }

    private func tearDown() {
        for connection in Array(connections.values) { close(connection) }
        for listener in listeners where listener.descriptor.isOpen { listener.descriptor.close() }
        inbox.withLock { inbox in
            inbox.closed = true
            inbox.completions = []
            inbox.wakeDescriptor.close()
        }
        epoll.descriptor.close()
        logger.debug("HTTP event loop stopped")
    }

    // MARK: - Deadlines

    func setDeadline(_ connection: Connection, _ kind: Connection.Deadline, after interval: UInt64) {
        connection.deadlineKind = kind
        connection.deadline = kind == .none ? 0 : now &+ interval
        if connection.deadline != 0 && connection.deadline < nextTimerCheck { nextTimerCheck = connection.deadline }
    }

    func wakeUp(at time: UInt64) {
        if time < nextTimerCheck { nextTimerCheck = time }
    }
}
