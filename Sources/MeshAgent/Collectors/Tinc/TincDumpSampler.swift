#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import TincControl

/// What the dump sampler knows about tincd, shared with the collector.
public final class TincDumpState: Sendable {
    struct State {
        var polls: UInt64 = 0
        var running = false
        var snapshot: TincSnapshot?
        var lastError: TincControlError?
        var errors: UInt64 = 0
        var reportedLogProblem = false
        /// Seconds the last fresh dump took, signal to last line.
        var lastDumpDuration: Double?
        /// tinc.conf, conf.d and hosts/ as of the last poll, and what failed reading them.
        var config: TincServerConfig?
        var hosts: [(name: String, file: TincHostFile?)] = []
        var configErrors: [String] = []
        /// The pid whose last dump timed out while it was alive (a hung tincd); nil after a good dump.
        var hungPid: Int32?
    }
    let state = Mutex(State())
    /// This net's running tincd, checked live (pidfile, /proc); nil: not running.
    let process: (@Sendable () -> Int32?)?
    /// The pid that left the last signal of any sender unanswered (nil: none).
    let unanswered: (@Sendable () -> Int32?)?

    /// `process` (normally `TincDaemonClient.verifiedProcess`) makes `daemonRunning` follow the
    /// process at every call instead of the last dump; `unanswered` (normally
    /// `TincDaemonClient.unansweredSignalPid`) makes a HUP or ALRM that tincd did not answer
    /// count as hung too, not only a dump.
    public init(process: (@Sendable () -> Int32?)? = nil, unanswered: (@Sendable () -> Int32?)? = nil) {
        self.process = process
        self.unanswered = unanswered
    }

    /// Records one attempt; returns true the first time tincd turns out not to log to a file.
    @discardableResult
    func record(_ result: Result<TincSnapshot, TincControlError>) -> Bool {
        state.withLock { s in
            s.polls += 1
            switch result {
            case let .success(snapshot):
                s.running = true
                s.snapshot = snapshot
                s.lastError = nil
                s.hungPid = nil
                return false
            case let .failure(error):
                s.lastError = error
                if case let .dumpTimeout(_, pid, _, _, _, _) = error { s.hungPid = pid } else { s.hungPid = nil }
                switch error {
                case .pidfile, .malformedPidfile, .notRunning, .notTincd, .otherNet, .daemonExited:
                    s.running = false
                    s.snapshot = nil
                    return false
                case .logNotAFile:
                    s.running = true
                    defer { s.reportedLogProblem = true }
                    return !s.reportedLogProblem
                default:
                    s.running = true
                    s.errors += 1
                    return false
                }
            }
        }
    }
}

/// Asks tincd for a dump every `interval` (never faster than the client's own
/// pacing), so a scrape only reads the last one: the dump waits on tincd's log.
///
/// A tinc 1.1 pidfile (`PID COOKIE HOST port PORT`) switches to the control
/// socket, which answers at once and needs no signals.
public final class TincDumpSampler: Sendable {
    let client: TincDaemonClient
    let control: TincControlClient
    let state: TincDumpState
    let interval: Duration
    let logger: Logger
    /// Fires when the first poll is done (whatever its outcome).
    public let firstPoll = OnceSignal()

    public init(client: TincDaemonClient, state: TincDumpState, interval: Duration, logger: Logger) {
        self.client = client
        self.control = TincControlClient(configuration: .init(net: client.configuration.net, pidfile: client.configuration.pidfilePath),
                                         logger: logger)
        self.state = state
        self.interval = interval
        self.logger = logger
    }

    /// The least time between two signals to tincd 1.0 (the USR2 and USR1 of one dump, and one
    /// dump's USR1 and the next one's USR2): a fifth of the minimum dump interval, between
    /// 100 ms and 1 s. The default interval (5 s) keeps the client's 1 s. The spacing is a margin
    /// on top of what prevents the signal-handler deadlock: the client sends the next signal only
    /// after the previous handler's last line is in the log and the log has been quiet for 200 ms.
    public static func signalSpacing(minimumDumpInterval: Duration) -> Duration {
        min(.seconds(1), max(.milliseconds(100), minimumDumpInterval / 5))
    }

    /// Reads tinc.conf, conf.d and hosts/ (keys are parsed and fingerprinted here, once
    /// per poll, not in every scrape).
    func readConfiguration() {
        var errors: [String] = []
        let directory = TincConfigDirectory(path: client.configuration.directoryPath)
        var config: TincServerConfig?
        do {
            config = try directory.serverConfig()
        } catch {
            errors.append("\(error)")
        }
        var hosts: [(name: String, file: TincHostFile?)] = []
        do {
            hosts = try directory.hostFiles().map { entry in
                switch entry.result {
                case let .success(file): return (entry.name.rawValue, file)
                case let .failure(error):
                    errors.append("\(error)")
                    return (entry.name.rawValue, nil)
                }
            }
        } catch {
            errors.append("\(error)")
        }
        state.state.withLock { s in
            s.config = config
            s.hosts = hosts
            s.configErrors = errors
        }
    }

    /// True when the pidfile is tinc 1.1's.
    var speaksControlSocket: Bool { TincPidfile.isTinc11(atPath: client.configuration.pidfilePath) }

    public func run(clock: AgentClock = .system) async {
        await clock.repeatEvery(interval) { await poll() }
    }

    public func poll() async {
        defer { firstPoll.fire() }
        readConfiguration()
        let result: Result<TincSnapshot, TincControlError>
        let started = ContinuousClock.now
        do {
            result = .success(speaksControlSocket ? try await control.snapshot() : try await client.snapshot())
        } catch {
            result = .failure(error)
        }
        if case let .success(snapshot) = result, !snapshot.fromCache {
            let took = (ContinuousClock.now - started).seconds
            state.state.withLock { $0.lastDumpDuration = took }
        }
        if state.record(result), case let .failure(error) = result {
            // Said once, clearly; everything that needs no dump is still exported.
            logger.error("tincd does not log to a file, so nodes, edges and connections cannot be read; run tincd with --logfile",
                         metadata: ["error": "\(error)"])
        }
    }
}
