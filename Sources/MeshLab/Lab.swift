import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A network-namespace lab of real daemons: tincd, BIRD, etcd, agents, Prometheus, Alertmanager.
public final class Lab: Sendable {
    public let stateDir: String
    public let progress: ProgressReporter
    public let logger: Logger
    /// Directory of the repository, for the agent default path and the `prometheus/` rules.
    public let repoRoot: String

    public init(stateDir: String, repoRoot: String, progress: ProgressReporter, logger: Logger) {
        self.stateDir = (stateDir as NSString).standardizingPath
        self.repoRoot = repoRoot
        self.progress = progress
        self.logger = logger
    }

    /// A quiet lab handle for reading an existing lab's state (tests, tools).
    public convenience init(stateDir: String) {
        var logger = Logger(label: "bgpmesh-lab")
        logger.logLevel = .error
        self.init(stateDir: stateDir, repoRoot: "/", progress: ProgressReporter(quiet: true), logger: logger)
    }

    public var monitoring: MonitoringSpec { MonitoringSpec(stateDir: stateDir) }
    var forwarderPidfile: String { "\(stateDir)/run/forwarder.pid" }
    var forwarderLog: String { "\(stateDir)/run/forwarder.log" }

    public func node(_ index: Int) -> NodeSpec { NodeSpec(index: index, stateDir: stateDir) }

    /// Accepts `node2`, `2` or `bml-n2`.
    public func resolve(_ name: String, in state: LabState) throws(LabError) -> NodeSpec {
        var s = Substring(name)
        if s.hasPrefix("\(LabNames.prefix)n") { s = s.dropFirst(LabNames.prefix.count + 1) }
        if s.hasPrefix("node") { s = s.dropFirst(4) }
        guard let i = Int(s), state.nodes.contains(i) else { throw .unknownNode(name) }
        return node(i)
    }

    /// Root, namespaces and the tools are all there.
    public static func preflight() throws(LabError) {
        guard geteuid() == 0 else { throw .notRoot }
        for tool in ToolPackages.required where Command.which(tool) == nil {
            throw .missingTool(name: tool, package: ToolPackages.package(for: tool))
        }
        try Netns.probe()
    }

    // MARK: - Files

    func mkdir(_ path: String) throws(LabError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }

    func write(_ path: String, _ content: String, mode: Int = 0o644) throws(LabError) {
        let url = URL(fileURLWithPath: path)
        do {
            try Data(content.utf8).write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }

    func read(_ path: String) throws(LabError) -> String {
        guard let d = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "cannot read") }
        return String(decoding: d, as: UTF8.self)
    }

    func copy(_ from: String, _ to: String) throws(LabError) {
        try write(to, try read(from))
    }

    func lastLine(_ path: String) -> String {
        let text = (try? read(path)) ?? ""
        return text.split(separator: "\n").last.map { String($0.prefix(200)) } ?? ""
    }

    // MARK: - Daemons

    public func pid(_ kind: DaemonKind, _ node: NodeSpec) -> Int32? {
        guard let p = Command.readPid(node.pidfile(kind)), Command.isAlive(p) else { return nil }
        return p
    }

    public func isRunning(_ kind: DaemonKind, _ node: NodeSpec) -> Bool { pid(kind, node) != nil }

    /// Signals tincd on a node and waits until its handler has written its output; false when
    /// tincd does not run.
    ///
    /// tinc 1.0.36 calls logger() inside its HUP, ALRM, USR1 and USR2 handlers (process.c, empty
    /// sa_mask). A signal that lands while tincd is writing its log deadlocks it on the stdio lock
    /// (seen here: HUP then ALRM back to back left tincd in futex_wait forever). So the lab signals
    /// one tincd at a time (flock across lab processes), only once its log has been quiet for a
    /// moment, and waits for the handler's last line before the next signal.
    @discardableResult
    func signalTincd(_ node: NodeSpec, _ sig: Int32) -> Bool {
        let end: String
        switch sig {
        case SIGHUP: end = "Got HUP signal"
        case SIGALRM: end = "Got ALRM signal"
        case SIGUSR1: end = "End of connections."
        case SIGUSR2: end = "End of subnet list."
        default: end = ""
        }
        return tincSignalAndRead(node, sig, end: end) != nil
    }

    /// Sends one signal to a quiet tincd and returns its log output after the signal, once `end`
    /// appears (and the log is quiet again), or nil.
    func tincSignalAndRead(_ n: NodeSpec, _ sig: Int32, end: String, timeout: Double = 4,
                           lockWait: Double = 15, quietMax: Double = 3, useLock: Bool = true) -> String? {
        guard let p = pid(.tincd, n) else { return nil }
        let lockPath = "\(n.runDir)/tincd.signal.lock"
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let lockDeadline = Date().addingTimeInterval(lockWait)
        while useLock && flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if Date() >= lockDeadline { return nil }
            usleep(20_000)
        }
        defer { if useLock { _ = flock(fd, LOCK_UN) } }
        waitLogQuiet(n.tincLog, quiet: 0.25, max: quietMax)
        let offset = fileSize(n.tincLog)
        guard kill(p, sig) == 0 else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            usleep(20_000)
            let text = readFrom(n.tincLog, offset: offset)
            if end.isEmpty || text.contains(end) {
                waitLogQuiet(n.tincLog, quiet: 0.1, max: min(2, quietMax))
                return readFrom(n.tincLog, offset: offset)
            }
        }
        return nil
    }

    func fileSize(_ path: String) -> UInt64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    func readFrom(_ path: String, offset: UInt64) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? h.close() }
        try? h.seek(toOffset: offset)
        return String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits until a log file has not grown for `quiet` seconds (at most `max` seconds).
    func waitLogQuiet(_ path: String, quiet: Double, max: Double) {
        let deadline = Date().addingTimeInterval(max)
        var last = fileSize(path)
        var since = Date()
        while Date() < deadline {
            usleep(25_000)
            let now = fileSize(path)
            if now != last { last = now; since = Date() } else if Date().timeIntervalSince(since) >= quiet { return }
        }
    }

    /// Starts one daemon and checks it is still alive shortly after.
    func startDaemon(_ kind: DaemonKind, _ node: NodeSpec, state: LabState) throws(LabError) {
        try startDaemons(kind, [node], state: state)
    }

    /// Starts one daemon on each node, then checks once, shortly after the last, that each is
    /// still alive (a pause per daemon would cost 25 s at 64 nodes).
    func startDaemons(_ kind: DaemonKind, _ nodes: [NodeSpec], state: LabState) throws(LabError) {
        var started: [(NodeSpec, Int32, String)] = []
        for node in nodes {
            if let (pid, log) = try launchDaemon(kind, node, state: state) { started.append((node, pid, log)) }
        }
        guard !started.isEmpty else { return }
        usleep(100_000)
        for (node, pid, log) in started where !Command.isAlive(pid) {
            throw .daemonDidNotStart(kind: kind.rawValue, node: node.name, log: log, lastLine: lastLine(log))
        }
    }

    /// Spawns one daemon; its pid and log, or nil when there is nothing to start (no agent binary).
    func launchDaemon(_ kind: DaemonKind, _ node: NodeSpec, state: LabState) throws(LabError) -> (Int32, String)? {
        try mkdir(node.runDir)
        try mkdir(node.logDir)
        let argv: [String]
        let env: [String: String] = [:]
        switch kind {
        case .tincd:
            argv = LabTemplates.tincdArguments(node: node)
        case .bird:
            guard node.birdSocket.utf8.count < 108 else { throw .unixSocketPathTooLong(node.birdSocket) }
            try? FileManager.default.removeItem(atPath: node.birdSocket)
            argv = LabTemplates.birdArguments(node: node)
        case .etcd:
            argv = LabTemplates.etcdArguments(node: node, members: state.etcdMembers(stateDir: stateDir))
        case .agent:
            // A bare node runs the binary the Ansible role installed, when it did.
            let installed = state.bare.contains(node.index) && FileManager.default.isExecutableFile(atPath: node.installedAgentBinary)
            guard let binary = installed ? node.installedAgentBinary : state.agentBinary else { return nil }
            guard FileManager.default.isExecutableFile(atPath: binary) else { throw .missingAgentBinary(path: binary) }
            try mkdir(node.agentDir)
            try write(node.tincdRestartScript, LabTemplates.tincdRestartScript(node: node), mode: 0o755)
            try write(node.birdRestartScript, LabTemplates.birdRestartScript(node: node), mode: 0o755)
            argv = AgentCommand.arguments(binary: binary, node: node, lab: state, extra: state.agentExtraArgs)
        }
        let log = kind == .tincd ? "\(node.logDir)/tincd.stderr.log" : node.log(kind)
        logger.debug("starting \(kind.rawValue) on \(node.name): \(Command.render(argv))")
        let pid = try Command.spawnDaemon(argv, netns: node.namespace, pidfile: node.pidfile(kind), log: log,
                                          environment: env)
        return (pid, log)
    }

    /// Stops one daemon by pid. `hard` sends SIGKILL at once, as a crash would.
    func stopDaemon(_ kind: DaemonKind, _ node: NodeSpec, hard: Bool) {
        guard let p = pid(kind, node) else { return }
        if hard {
            kill(p, SIGKILL)
            let deadline = Date().addingTimeInterval(3)
            while Command.isAlive(p) && Date() < deadline { usleep(10_000) }
        } else {
            Command.stop(p)
        }
    }

    // MARK: - Waiting

    /// Polls `check` until it returns no missing items, or throws `notReady` with what is missing.
    /// With `total` (the count `check` reports one missing line each for), says every 5 s how many
    /// are ready.
    func waitUntil(_ what: String, timeout: Double, interval: Double = 0.5, total: Int? = nil,
                   _ check: () throws(LabError) -> [String]) throws(LabError) {
        let deadline = Date().addingTimeInterval(timeout)
        var nextReport = Date().addingTimeInterval(5)
        var missing: [String] = []
        repeat {
            missing = try check()
            if missing.isEmpty { return }
            if let total, Date() >= nextReport {
                nextReport = Date().addingTimeInterval(5)
                progress.step("waiting for \(what): \(max(total - missing.count, 0))/\(total) ready (\(missing[0]))")
            }
            usleep(UInt32(interval * 1_000_000))
        } while Date() < deadline
        throw .notReady(what: what, seconds: timeout, missing: missing)
    }

    /// Runs `body` for every node at once and collects failures.
    func forEachNode(_ nodes: [NodeSpec], _ body: @Sendable (NodeSpec) throws(LabError) -> Void) throws(LabError) {
        let box = ResultsBox<LabError?>(count: nodes.count)
        DispatchQueue.concurrentPerform(iterations: nodes.count) { i in
            do throws(LabError) { try body(nodes[i]); box.set(i, nil) } catch { box.set(i, error) }
        }
        for case let e?? in box.values { throw e }
    }
}
