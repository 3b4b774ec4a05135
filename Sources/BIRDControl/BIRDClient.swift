import POSIXSupport
import Dispatch
import Glibc
import Logging
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A client for BIRD's control socket: one reused connection, one command at a time, every
/// command bounded by a deadline, blocking I/O on its own serial queue (never on Swift's
/// cooperative pool). Read-only clients (`restricted: true`) send `restrict` right after the
/// banner, so even a bug here cannot reconfigure the daemon.
public final class BIRDClient: @unchecked Sendable {
    // @unchecked: the mutable state below is only touched on `queue`.

    public struct Configuration: Sendable {
        /// BIRD's control socket, `bird -s` (Debian: /run/bird/bird.ctl).
        public var socketPath: String
        /// Send `restrict` first: show commands only. Repair actions need `false`.
        public var restricted: Bool
        /// Default deadline of one command, connecting and reading the banner included.
        public var timeout: Duration
        /// Replies larger than this fail with `.tooLarge` and drop the connection.
        public var maxReplyBytes: Int
        /// The daemon's time zone, for the typed commands' time parsing.
        public var timeZone: TimeZone

        public init(socketPath: String = "/run/bird/bird.ctl", restricted: Bool = true, timeout: Duration = .seconds(5),
                    maxReplyBytes: Int = BIRDReplyFramer.defaultLimit, timeZone: TimeZone = .current) {
            self.socketPath = socketPath
            self.restricted = restricted
            self.timeout = timeout
            self.maxReplyBytes = maxReplyBytes
            self.timeZone = timeZone
        }
    }

    /// Counters for the client's own metrics.
    public struct Statistics: Sendable, Equatable {
        /// Connections established (banner read, `restrict` accepted).
        public var connects = 0
        /// Commands sent, including failed ones.
        public var commands = 0
        /// Commands that failed and dropped the connection (daemon errors excluded).
        public var failures = 0
        /// Daemon errors (8xxx/9xxx replies).
        public var daemonErrors = 0
    }

    public let configuration: Configuration
    private let logger: Logger
    private let queue: DispatchQueue

    // Confined to `queue`.
    private var session: BIRDSession?
    private var statisticsValue = Statistics()

    public init(configuration: Configuration, logger: Logger = Logger(label: "bgpmesh.bird")) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "bird_socket"] = .string(configuration.socketPath)
        self.logger = logger
        self.queue = DispatchQueue(label: "bgpmesh.bird-control" + (configuration.restricted ? "" : ".unrestricted"))
    }

    public convenience init(socketPath: String, restricted: Bool = true, timeout: Duration = .seconds(5),
                            logger: Logger = Logger(label: "bgpmesh.bird")) {
        self.init(configuration: Configuration(socketPath: socketPath, restricted: restricted, timeout: timeout), logger: logger)
    }

    /// Sends one command (no newline) and returns its complete reply. An 8xxx/9xxx reply throws
    /// `.daemon` and keeps the connection; every other error drops it, and the next command
    /// reconnects.
    public func command(_ command: String, timeout: Duration? = nil) async throws(BIRDControlError) -> BIRDReply {
        let result: Result<BIRDReply, BIRDControlError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.perform(command, timeout: timeout ?? self.configuration.timeout))
            }
        }
        return try result.get()
    }

    /// The blocking form of `command(_:timeout:)`, for tests, benchmarks and command-line tools.
    /// Do not call it from async code: it blocks the calling thread until the reply arrives.
    public func commandSync(_ command: String, timeout: Duration? = nil) throws(BIRDControlError) -> BIRDReply {
        try queue.sync { perform(command, timeout: timeout ?? configuration.timeout) }.get()
    }

    /// Closes the connection now; the next command opens a new one.
    public func close() {
        queue.sync { dropSession() }
    }

    /// True while a connection is open (it may still turn out dead on the next command).
    public var isConnected: Bool {
        queue.sync { session != nil }
    }

    public var statistics: Statistics {
        queue.sync { statisticsValue }
    }

    /// The banner of the current connection, e.g. `BIRD 2.0.12 ready.`.
    public var banner: String? {
        queue.sync { session?.banner }
    }

    // MARK: On the queue

    private func perform(_ command: String, timeout: Duration) -> Result<BIRDReply, BIRDControlError> {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !command.isEmpty, !command.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            return .failure(.invalidArgument("command \(command.debugDescription) is empty or holds a line break or NUL"))
        }
        statisticsValue.commands += 1
        let deadline = Deadline(after: timeout)
        var attempt = 0
        while true {
            attempt += 1
            let reused = session != nil
            do throws(BIRDControlError) {
                let session = try currentSession(command: command, deadline: deadline, timeout: timeout)
                let reply = try session.execute(command, deadline: deadline, timeout: timeout)
                if reply.isError {
                    statisticsValue.daemonErrors += 1
                    return .failure(.daemon(code: reply.code, text: reply.finalText, command: command))
                }
                return .success(reply)
            } catch {
                dropSession()
                // A connection that sat idle may have died with a restarted BIRD. If it broke before
                // any reply byte, a read-only command is retried once on a fresh connection.
                if reused, attempt == 1, configuration.restricted, error.isStaleConnection, !deadline.hasExpired {
                    logger.debug("BIRD connection was stale, reconnecting", metadata: ["command": .string(command), "error": .string(error.description)])
                    continue
                }
                statisticsValue.failures += 1
                logger.debug("BIRD command failed", metadata: ["command": .string(command), "error": .string(error.description)])
                return .failure(error)
            }
        }
    }

    private func currentSession(command: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) -> BIRDSession {
        if let session { return session }
        let session = try BIRDSession.open(
            path: configuration.socketPath, restricted: configuration.restricted, limit: configuration.maxReplyBytes,
            command: command, deadline: deadline, timeout: timeout)
        self.session = session
        statisticsValue.connects += 1
        logger.debug("connected to BIRD", metadata: ["banner": .string(session.banner), "restricted": .stringConvertible(configuration.restricted)])
        return session
    }

    private func dropSession() {
        session?.close()
        session = nil
    }
}

extension BIRDControlError {
    /// The peer was gone before answering: EOF with nothing received, or a reset/broken pipe.
    var isStaleConnection: Bool {
        switch self {
        case .closed(_, let received): received == 0
        case .io(_, let call, let code): (call == "send" || call == "recv") && (code == EPIPE || code == ECONNRESET)
        default: false
        }
    }
}
