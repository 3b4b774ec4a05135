import POSIXSupport
import Dispatch
import Glibc
import Logging
import Synchronization

/// One snapshot of a tincd: the parsed dump, and when it was taken. Between dumps the client
/// serves the last snapshot, so exporters should publish its age.
public struct TincSnapshot: Sendable {
    public let dump: TincDump
    /// Monotonic time the dump completed.
    public let capturedAt: ContinuousClock.Instant
    /// Wall-clock time the dump completed, in seconds since 1970.
    public let capturedAtUnixTime: Double
    /// True when this call returned the cached snapshot instead of signalling tincd.
    public let fromCache: Bool
    /// tinc 1.0: the log was truncated (copytruncate) while the dump was being read; the
    /// dump was then read from the start of the truncated file.
    public let logTruncatedDuringDump: Bool

    public init(dump: TincDump, capturedAt: ContinuousClock.Instant, capturedAtUnixTime: Double, fromCache: Bool = false,
                logTruncatedDuringDump: Bool = false) {
        self.dump = dump
        self.capturedAt = capturedAt
        self.capturedAtUnixTime = capturedAtUnixTime
        self.fromCache = fromCache
        self.logTruncatedDuringDump = logTruncatedDuringDump
    }

    public func age(at now: ContinuousClock.Instant = .now) -> Duration { now - capturedAt }

    func cached() -> TincSnapshot {
        TincSnapshot(dump: dump, capturedAt: capturedAt, capturedAtUnixTime: capturedAtUnixTime, fromCache: true,
                     logTruncatedDuringDump: logTruncatedDuringDump)
    }
}

/// A client for tinc 1.0.x: finds tincd through its pidfile, asks for dumps with SIGUSR2 (device
/// statistics, nodes, edges, subnets) and SIGUSR1 (connections), and reads them from the new
/// part of tincd's log file. Also sends HUP (reload), ALRM (retry) and WINCH (purge).
///
/// tinc 1.0.36 writes its log from inside these signal handlers without blocking other signals
/// (process.c, empty sa_mask), so a signal that arrives while a handler writes can deadlock
/// tincd. This client therefore: sends one signal at a time (a serial queue, plus an optional
/// cross-process flock), waits for the handler's last line before the next signal, keeps
/// `signalSpacing` between signals, waits for the log to be quiet before signalling, and asks
/// for a dump at most once per `minimumDumpInterval` (serving the cached snapshot in between).
/// All blocking work runs on its own serial queue, never on Swift's cooperative pool.
public final class TincDaemonClient: @unchecked Sendable {
    // @unchecked: the mutable state below is only touched on `queue`.

    public struct Configuration: Sendable {
        /// The tinc net name (`--collector.tinc.net`).
        public var net: String
        /// The net's configuration directory (`--collector.tinc.dir`); default `/etc/tinc/<net>`.
        public var directory: String?
        /// tincd's pidfile (`--collector.tinc.pidfile`); default `/var/run/tinc.<net>.pid`.
        public var pidfile: String?
        /// tincd's log file (`--collector.tinc.logfile`); nil: taken from tincd's command line.
        public var logfile: String?
        /// Dumps are requested at most this often; in between the last snapshot is served.
        public var minimumDumpInterval: Duration
        /// Minimum time between two signals to tincd, counted from the end of the previous handler.
        public var signalSpacing: Duration
        /// How long tincd has to write one dump block set into its log.
        public var dumpTimeout: Duration
        /// The log must not grow for this long before a signal is sent (tincd not logging now).
        public var quietPeriod: Duration
        /// Optional lock file taken (flock) around each signal, shared with other processes that
        /// signal the same tincd (the lab uses `<run dir>/tincd.signal.lock`).
        public var signalLockPath: String?
        /// Refuse to signal a pid whose /proc/PID/comm is not this (nil: no check).
        public var expectedProcessName: String?
        /// Upper bound on the log bytes read for one dump.
        public var maxDumpBytes: Int

        public init(net: String = "bgpmesh", directory: String? = nil, pidfile: String? = nil, logfile: String? = nil,
                    minimumDumpInterval: Duration = .seconds(5), signalSpacing: Duration = .seconds(1),
                    dumpTimeout: Duration = .seconds(5), quietPeriod: Duration = .milliseconds(200),
                    signalLockPath: String? = nil, expectedProcessName: String? = "tincd", maxDumpBytes: Int = 32 << 20) {
            self.net = net
            self.directory = directory
            self.pidfile = pidfile
            self.logfile = logfile
            self.minimumDumpInterval = minimumDumpInterval
            self.signalSpacing = signalSpacing
            self.dumpTimeout = dumpTimeout
            self.quietPeriod = quietPeriod
            self.signalLockPath = signalLockPath
            self.expectedProcessName = expectedProcessName
            self.maxDumpBytes = maxDumpBytes
        }

        public var directoryPath: String { directory ?? "/etc/tinc/\(net)" }
        public var pidfilePath: String { pidfile ?? "/var/run/tinc.\(net).pid" }
    }

    /// Counters for the client's own metrics.
    public struct Statistics: Sendable, Equatable {
        /// Signals sent to tincd (all kinds).
        public var signalsSent = 0
        /// Dumps completed (one USR2 + one USR1 each).
        public var dumps = 0
        /// Snapshot requests answered from the cache without signalling.
        public var cacheHits = 0
        /// Dump attempts that failed.
        public var failures = 0
    }

    public let configuration: Configuration
    private let logger: Logger
    private let queue: DispatchQueue
    private let probe: TincProcessProbe

    // Confined to `queue`.
    private var cache: TincSnapshot?
    private var lastAttempt: ContinuousClock.Instant?
    private var lastError: TincControlError?
    private var lastSignalEnd: ContinuousClock.Instant?
    private var statisticsValue = Statistics()
    /// The pid whose last signal (a dump's USR2/USR1, HUP or ALRM) went unanswered within the
    /// dump timeout; nil after an answered one. Not confined to `queue`: read while it waits.
    private let unanswered = Mutex<Int32?>(nil)
    /// When `unanswered` was last set: HUP and ALRM fail at once only for two dump timeouts after
    /// it, so the mark cannot block them for good where no dump ever clears it (no sampler).
    private let unansweredAt = Mutex<ContinuousClock.Instant?>(nil)

    public convenience init(configuration: Configuration, logger: Logger = Logger(label: "bgpmesh.tinc")) {
        self.init(configuration: configuration, logger: logger, probe: .system)
    }

    init(configuration: Configuration, logger: Logger, probe: TincProcessProbe) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "tinc_net"] = .string(configuration.net)
        self.logger = logger
        self.probe = probe
        queue = DispatchQueue(label: "bgpmesh.tinc-daemon.\(configuration.net)")
    }

    // MARK: Public API

    /// The current snapshot: a fresh dump when the last attempt is at least `minimumDumpInterval`
    /// old, else the cached one (`fromCache`). Within the interval after a failed attempt with no
    /// snapshot cached, the failure is rethrown without signalling again.
    public func snapshot() async throws(TincControlError) -> TincSnapshot {
        try await onQueue { $0.performSnapshot() }
    }

    /// The blocking form of `snapshot()`, for tests and tools. Never call it from async code.
    public func snapshotSync() throws(TincControlError) -> TincSnapshot {
        try queue.sync { performSnapshot() }.get()
    }

    /// Reads the pidfile and checks the process and its log destination, without signalling.
    /// Call it at start: `.logNotAFile` is the one clear error for a tincd that logs to syslog
    /// or the journal.
    public func daemonInfo() throws(TincControlError) -> TincDaemonInfo {
        try queue.sync {
            Result { () throws(TincControlError) in
                let info = try locate()
                guard case .file = info.logDestination else { throw .logNotAFile(pid: info.pid, destination: info.logDestination) }
                return info
            }
        }.get()
    }

    /// SIGHUP: tincd rereads its configuration and host files (and reopens its log). Waits for
    /// `Got HUP signal` in the log when tincd logs to a file.
    public func reload() async throws(TincControlError) {
        try await onQueue { client in Result { () throws(TincControlError) in try client.plainSignal(SIGHUP, "HUP", end: "Got HUP signal") } }
    }

    /// SIGALRM: tincd retries its outgoing connections now instead of after up to MaxTimeout.
    public func retry() async throws(TincControlError) {
        try await onQueue { client in Result { () throws(TincControlError) in try client.plainSignal(SIGALRM, "ALRM", end: "Got ALRM signal") } }
    }

    /// SIGWINCH: tincd purges unreachable nodes (its handler logs nothing; only spacing applies).
    public func purge() async throws(TincControlError) {
        try await onQueue { client in Result { () throws(TincControlError) in try client.plainSignal(SIGWINCH, "WINCH", end: nil) } }
    }

    /// The last good snapshot, without any I/O.
    public var lastSnapshot: TincSnapshot? {
        queue.sync { cache }
    }

    public var statistics: Statistics {
        queue.sync { statisticsValue }
    }

    /// The tincd that did not answer the last signal anyone sent it through this client (the
    /// dump sampler's USR2/USR1, the registry's or the repair loop's HUP and ALRM) within the
    /// dump timeout: hung or stopped. Every user's signals share one queue, so a hung tincd
    /// shows at the first unanswered signal, whoever sent it, not only at the sampler's turn.
    /// Never waits for the queue.
    public var unansweredSignalPid: Int32? {
        unanswered.withLock { $0 }
    }

    // MARK: On the queue

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (TincDaemonClient) -> Result<T, TincControlError>) async throws(TincControlError) -> T {
        let result: Result<T, TincControlError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body(self)) }
        }
        return try result.get()
    }

    private func performSnapshot() -> Result<TincSnapshot, TincControlError> {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = ContinuousClock.now
        if let lastAttempt, now - lastAttempt < configuration.minimumDumpInterval {
            // After a failed attempt the failure stands until the next one: the cached snapshot
            // of a tincd that has since died or hung is not served as if it were current.
            if let lastError { return .failure(lastError) }
            if let cache {
                // Served only while the same tincd still runs: a dead one's dump is not current.
                do {
                    _ = try verifiedProcess()
                } catch {
                    lastError = error
                    return .failure(error)
                }
                statisticsValue.cacheHits += 1
                return .success(cache.cached())
            }
        }
        lastAttempt = now
        do throws(TincControlError) {
            let snapshot = try dump()
            cache = snapshot
            lastError = nil
            statisticsValue.dumps += 1
            return .success(snapshot)
        } catch {
            lastError = error
            statisticsValue.failures += 1
            logger.debug("tinc dump failed", metadata: ["error": .string(error.description)])
            return .failure(error)
        }
    }

    private func dump() throws(TincControlError) -> TincSnapshot {
        let info = try locate()
        guard case .file(let path) = info.logDestination else {
            throw .logNotAFile(pid: info.pid, destination: info.logDestination)
        }
        let graph = try signalAndRead(SIGUSR2, "USR2", pid: info.pid, logPath: path) { scan in
            [TincLogBlockKind.nodes, .edges, .subnets].filter { scan.last($0, pid: info.pid) == nil }
        }
        let connections = try signalAndRead(SIGUSR1, "USR1", pid: info.pid, logPath: path) { scan in
            scan.last(.connections, pid: info.pid) == nil ? [.connections] : []
        }
        let graphDump = TincLogParser.parse(graph.scan, pid: info.pid)
        let connectionDump = TincLogParser.parse(connections.scan, pid: info.pid)
        return TincSnapshot(dump: graphDump.merged(connections: connectionDump), capturedAt: .now,
                            capturedAtUnixTime: TincSyscall.unixTime(),
                            logTruncatedDuringDump: graph.truncated || connections.truncated)
    }

    func locate() throws(TincControlError) -> TincDaemonInfo {
        let pidfilePath = configuration.pidfilePath
        let pidfile = try TincPidfile.read(pidfilePath)
        guard !pidfile.isTinc11 else { throw .wrongVersion(pidfile: pidfilePath, expected: "1.0", found: "1.1") }
        let pid = pidfile.pid
        try verify(pid)
        let fromCommandLine = probe.commandLine(pid).map { TincLogDestination.from(arguments: $0) }
        let destination: TincLogDestination
        switch (fromCommandLine, configuration.logfile) {
        case (.some(.file), .some(let configured)): destination = .file(configured)
        case (.some(let detected), _): destination = detected
        case (.none, .some(let configured)): destination = .file(configured)
        case (.none, .none): destination = .file("/var/log/tinc.\(configuration.net).log")
        }
        return TincDaemonInfo(pid: pid, pidfile: pidfilePath, logDestination: destination)
    }

    /// The pidfile (1.0 or 1.1) whose pid is alive, not a zombie, and this net's tincd: its
    /// executable (or, for a wrapper script, its command name) is `expectedProcessName`, and its
    /// command line names this net or configuration directory. Reads /proc only: no signal, and
    /// not on the client's queue, so a dump waiting on a hung tincd never delays it.
    public func verifiedProcess() throws(TincControlError) -> TincPidfile {
        let pidfile = try TincPidfile.read(configuration.pidfilePath)
        try verify(pidfile.pid)
        return pidfile
    }

    func verify(_ pid: Int32) throws(TincControlError) {
        let pidfilePath = configuration.pidfilePath
        guard probe.isAlive(pid), probe.processState(pid) != "Z" else { throw .notRunning(pid: pid, pidfile: pidfilePath) }
        guard let expected = configuration.expectedProcessName else { return }
        let executable = probe.executable(pid).map(ProcessInspection.baseName(ofExecutable:))
        let name = probe.commandName(pid)
        guard executable == expected || name == expected else {
            // The pid vanished between the two checks, or it is another program now.
            guard probe.isAlive(pid) else { throw .notRunning(pid: pid, pidfile: pidfilePath) }
            throw .notTincd(pid: pid, command: name ?? executable ?? "(unreadable)")
        }
        if let arguments = probe.commandLine(pid),
           let why = TincProcessIdentity(arguments: arguments).mismatch(
               net: configuration.net, directory: configuration.directoryPath, workingDirectory: probe.workingDirectory(pid)) {
            throw .otherNet(pid: pid, detail: why)
        }
    }

    /// SIGKILL to this net's tincd (checked by `verifiedProcess()` just before), for a tincd
    /// that no longer answers its signals; a stopped (SIGSTOP) process dies of SIGKILL too.
    /// Waits until it is gone (or a zombie), at most `timeout`, then removes the pidfile if it still
    /// names it. Returns the pid killed, nil when no tincd of this net was running.
    public func killVerified(timeout: Duration = .seconds(5)) async throws(TincControlError) -> Int32? {
        let pid: Int32
        do {
            pid = try verifiedProcess().pid
        } catch .notRunning, .pidfile(_, _, ENOENT) {
            return nil
        }
        let code = probe.signal(pid, SIGKILL)
        if code == ESRCH { return nil }
        guard code == 0 else { throw .signal(pid: pid, signal: "SIGKILL", errno: code) }
        logger.notice("killed tincd", metadata: ["pid": .stringConvertible(pid)])
        let deadline = ContinuousClock.now + timeout
        while probe.isAlive(pid) && probe.processState(pid) != "Z" {
            guard ContinuousClock.now < deadline else { throw .signal(pid: pid, signal: "SIGKILL", errno: ETIMEDOUT) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        // A killed tincd leaves its pidfile. Until its parent reaps it, it is a zombie that a new
        // tincd's own check (1.0.36 kill(pid, 0) on the pidfile's pid) takes for a running tincd
        // and refuses to start; the pidfile names a dead process, so it goes.
        if (try? TincPidfile.read(configuration.pidfilePath))?.pid == pid { unlink(configuration.pidfilePath) }
        return pid
    }

    private func plainSignal(_ number: Int32, _ name: String, end: String?) throws(TincControlError) {
        let info = try locate()
        if case .file(let path) = info.logDestination, let end {
            // A plain handler writes one line, e.g. `Got HUP signal`.
            _ = try signalAndRead(number, name, pid: info.pid, logPath: path, missing: { $0.sawMessage ? [] : [end] }, endMessage: end)
        } else {
            _ = try signalAndRead(number, name, pid: info.pid, logPath: nil, missing: { _ in [] }, endMessage: nil)
        }
    }

    private struct LogRead {
        var scan: TincLogScan
        var truncated: Bool
    }

    /// Sends one signal under every pacing rule and, with a log path, reads the log from just
    /// before the signal until `missing` reports nothing missing.
    private func signalAndRead(_ number: Int32, _ name: String, pid: Int32, logPath: String?,
                               missing: (TincLogScan) -> [TincLogBlockKind]) throws(TincControlError) -> LogRead {
        try signalAndRead(number, name, pid: pid, logPath: logPath, missing: { missing($0).map(\.rawValue) }, endMessage: nil)
    }

    private func signalAndRead(_ number: Int32, _ name: String, pid: Int32, logPath: String?,
                               missing: (TincLogScan) -> [String], endMessage: String?) throws(TincControlError) -> LogRead {
        // A HUP or ALRM (no dump) to a tincd that left the last signal unanswered, within two dump
        // timeouts, fails at once: a stopped tincd would cost every queued caller (registry, repair
        // loop) the whole dump timeout in turn, and the repair loop waiting in one of them cannot
        // see tincd hung. A dump still goes through, and a dump it answers clears the mark.
        if endMessage != nil, unanswered.withLock({ $0 == pid }),
           let since = unansweredAt.withLock({ $0 }), ContinuousClock.now - since < configuration.dumpTimeout * 2 {
            throw .unanswered(pid: pid, signal: "SIG\(name)")
        }
        let lock = try acquireLock()
        defer { lock?.close() }
        if let lastSignalEnd {
            let wait = configuration.signalSpacing - (ContinuousClock.now - lastSignalEnd)
            if wait > .zero { TincSyscall.sleep(milliseconds: wait.tincMilliseconds) }
        }
        defer { lastSignalEnd = .now }
        guard let logPath else {
            try send(number, name, pid: pid)
            return LogRead(scan: TincLogScan(), truncated: false)
        }
        try checkLogIsOpen(by: pid, path: logPath)
        waitForQuietLog(logPath)
        let fd = Syscall.retryingEINTR { open(logPath, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw .log(path: logPath, call: "open", errno: errno) }
        let handle = FileDescriptor(fd)
        var status = stat()
        guard fstat(handle.rawValue, &status) == 0 else { throw .log(path: logPath, call: "fstat", errno: errno) }
        var offset = Int(status.st_size)
        var buffer: [UInt8] = []
        var truncated = false
        try send(number, name, pid: pid)
        let started = ContinuousClock.now
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            guard fstat(handle.rawValue, &status) == 0 else { throw .log(path: logPath, call: "fstat", errno: errno) }
            if Int(status.st_size) < offset + buffer.count {
                // copytruncate: tincd (O_APPEND) now writes from the start of the file.
                truncated = true
                offset = 0
                buffer.removeAll()
            }
            var grew = false
            while offset + buffer.count < Int(status.st_size) {
                let n = chunk.withUnsafeMutableBytes { raw in
                    Syscall.retryingEINTR { pread(handle.rawValue, raw.baseAddress, raw.count, off_t(offset + buffer.count)) }
                }
                if n < 0 { throw .log(path: logPath, call: "pread", errno: errno) }
                if n == 0 { break }
                buffer += chunk[0..<n]
                grew = true
                if buffer.count > configuration.maxDumpBytes { throw .log(path: logPath, call: "read", errno: EFBIG) }
            }
            if grew {
                var scan = TincLogScanner.scan(buffer, pid: pid)
                if let endMessage { scan.sawMessage = Self.contains(buffer, message: endMessage) }
                let stillMissing = missing(scan)
                if stillMissing.isEmpty {
                    unanswered.withLock { if $0 == pid { $0 = nil } }
                    return LogRead(scan: scan, truncated: truncated)
                }
            }
            // A tincd that dies mid-dump (killed by a repair of a hung tincd, or crashed) ends the
            // wait at once: the dump holds the signal lock, which the restart command waits for.
            if !grew, !probe.isAlive(pid) || probe.processState(pid) == "Z" {
                throw .daemonExited(pid: pid, during: "SIG\(name)")
            }
            let elapsed = ContinuousClock.now - started
            if elapsed >= configuration.dumpTimeout {
                guard probe.isAlive(pid) else { throw .daemonExited(pid: pid, during: "SIG\(name)") }
                try checkLogIsOpen(by: pid, path: logPath)
                var scan = TincLogScanner.scan(buffer, pid: pid)
                if let endMessage { scan.sawMessage = Self.contains(buffer, message: endMessage) }
                unanswered.withLock { $0 = pid }
                unansweredAt.withLock { $0 = .now }
                throw .dumpTimeout(signal: "SIG\(name)", pid: pid, logfile: logPath, after: configuration.dumpTimeout,
                                   missing: missing(scan), bytesRead: buffer.count)
            }
            TincSyscall.sleep(milliseconds: 20)
        }
    }

    private static func contains(_ bytes: [UInt8], message: String) -> Bool {
        let needle = Array(("]: " + message).utf8)
        guard bytes.count >= needle.count else { return false }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], Array(bytes[index..<index + needle.count]) == needle { return true }
            index += 1
        }
        return false
    }

    private func send(_ number: Int32, _ name: String, pid: Int32) throws(TincControlError) {
        let code = probe.signal(pid, number)
        statisticsValue.signalsSent += 1
        if code == ESRCH { throw .notRunning(pid: pid, pidfile: configuration.pidfilePath) }
        guard code == 0 else { throw .signal(pid: pid, signal: "SIG\(name)", errno: code) }
        logger.trace("signalled tincd", metadata: ["pid": .stringConvertible(pid), "signal": .string(name)])
    }

    /// tincd reopens its log only on HUP: after a rename rotation it still writes the old file.
    /// When /proc shows tincd's open files, the configured path must be among them.
    private func checkLogIsOpen(by pid: Int32, path: String) throws(TincControlError) {
        guard let files = probe.openFiles(pid) else { return }
        let resolved = Self.realpath(path)
        if files.contains(path) || (resolved != nil && files.contains(resolved!)) { return }
        let logs = files.filter { $0.hasPrefix("/") && !$0.hasPrefix("/dev/") && !$0.hasPrefix("/proc/") }
        if resolved == nil {
            throw .logRotated(path: path, detail: "the file does not exist; tincd writes \(logs.isEmpty ? "no file" : logs.joined(separator: ", ")) and reopens its log only on SIGHUP")
        }
        throw .logRotated(path: path, detail: "tincd (pid \(pid)) writes \(logs.isEmpty ? "another file" : logs.joined(separator: ", ")) instead; it reopens its log only on SIGHUP")
    }

    private static func realpath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Waits (bounded) until the log has not grown for `quietPeriod`: tincd is then not inside
    /// logger(), where a signal handler's own logging could deadlock it.
    private func waitForQuietLog(_ path: String) {
        let quiet = configuration.quietPeriod
        guard quiet > .zero else { return }
        let limit = ContinuousClock.now + quiet * 8
        var lastSize: Int64 = -1
        var since = ContinuousClock.now
        while ContinuousClock.now < limit {
            var status = stat()
            let size: Int64 = stat(path, &status) == 0 ? Int64(status.st_size) : -1
            if size != lastSize {
                lastSize = size
                since = .now
            } else if ContinuousClock.now - since >= quiet {
                return
            }
            TincSyscall.sleep(milliseconds: 20)
        }
    }

    private func acquireLock() throws(TincControlError) -> FileDescriptor? {
        guard let path = configuration.signalLockPath else { return nil }
        let fd = Syscall.retryingEINTR { open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw .log(path: path, call: "open", errno: errno) }
        let handle = FileDescriptor(fd)
        let deadline = ContinuousClock.now + configuration.dumpTimeout * 3
        while flock(handle.rawValue, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else { throw .lockTimeout(path: path, after: configuration.dumpTimeout * 3) }
            TincSyscall.sleep(milliseconds: 20)
        }
        return handle   // closing the descriptor releases the lock
    }
}

extension TincProcessProbe {
    /// Targets of /proc/PID/fd/*, nil when unreadable.
    static func procOpenFiles(_ pid: Int32) -> [String]? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var out: [String] = []
        while let entry = readdir(directory), out.count < 4096 {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            var target = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
            if n > 0 { out.append(String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        }
        return out
    }
}
