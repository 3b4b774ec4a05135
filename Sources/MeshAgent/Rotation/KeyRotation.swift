#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import TincControl

/// Rotates this node's tinc key, one step at a time, each step saved in
/// `state.dir/rotation.json` before the next begins (docs/rotation.md): generate the new key,
/// publish it with a statement signed by the old key, wait for every alive peer's ack (or
/// `keys.rotation-ack-timeout`), install the key and restart tincd with
/// `repair.tincd-restart-command`, check tincd came back; if it did not, put the old key back.
/// A rotation interrupted (agent killed, etcd gone) is taken up where it stopped at the next
/// start.
public actor KeyRotation {
    public struct Settings: Sendable {
        public var stateDirectory: String
        public var tincDirectory: String
        public var restartCommand: String?
        /// `keys.bits`: 0 keeps the old key's size.
        public var bits: Int
        public var ackTimeout: Duration
        /// `keys.rotate-interval`: nil, no scheduled rotation.
        public var rotateInterval: Duration?
        public var tick: Duration
        /// How long tincd has to come back after the restart command.
        public var verifyTimeout: Duration

        public init(stateDirectory: String, tincDirectory: String, restartCommand: String?, bits: Int = 0,
                    ackTimeout: Duration = .seconds(60), rotateInterval: Duration? = nil, tick: Duration = .seconds(1),
                    verifyTimeout: Duration = .seconds(20)) {
            self.stateDirectory = stateDirectory
            self.tincDirectory = tincDirectory
            self.restartCommand = restartCommand
            self.bits = bits
            self.ackTimeout = ackTimeout
            self.rotateInterval = rotateInterval
            self.tick = tick
            self.verifyTimeout = verifyTimeout
        }
    }

    /// tincd as the rotation sees it; the agent passes the tinc client and the restart command.
    public struct Daemon: Sendable {
        /// The pid of the running tincd; nil when none runs.
        public var pid: @Sendable () async -> Int32?
        /// ALRM: connect now.
        public var retry: @Sendable () async -> Void
        /// Runs the restart command; nil when it succeeded, else why not.
        public var restart: @Sendable (String) async -> String?

        public init(pid: @escaping @Sendable () async -> Int32?, retry: @escaping @Sendable () async -> Void,
                    restart: @escaping @Sendable (String) async -> String?) {
            self.pid = pid
            self.retry = retry
            self.restart = restart
        }
    }

    /// The `key_rotation` object of GET /api/v1/status.
    public struct Status: Codable, Sendable, Equatable {
        public var id: String?
        public var phase: String
        public var started: String?
        public var peersAcked: Int?
        public var peersExpected: Int?
        public var lastID: String?
        public var lastResult: String?
        public var lastError: String?
        public var lastFinished: String?

        enum CodingKeys: String, CodingKey {
            case id, phase, started
            case peersAcked = "peers_acked"
            case peersExpected = "peers_expected"
            case lastID = "last_id"
            case lastResult = "last_result"
            case lastError = "last_error"
            case lastFinished = "last_finished"
        }
    }

    public nonisolated let settings: Settings
    nonisolated let registry: RegistrySync
    nonisolated let daemon: Daemon
    public nonisolated let metrics: RotationMetrics
    nonisolated let logger: Logger
    nonisolated let clock: AgentClock

    var state = RotationState()
    /// Why rotation.json cannot be read: no rotation starts until it is repaired.
    var brokenState: String?
    /// The registry carries this run's rotation key (set again after a restart of the agent).
    var registryPrimed = false
    var progress: (acked: Int, expected: Int)?
    var lastError: String?

    public init(settings: Settings, registry: RegistrySync, daemon: Daemon, metrics: RotationMetrics, logger: Logger,
                clock: AgentClock = .system) {
        self.settings = settings
        self.registry = registry
        self.daemon = daemon
        self.metrics = metrics
        var rotationLogger = logger
        rotationLogger[metadataKey: "component"] = "rotation"
        self.logger = rotationLogger
        self.clock = clock
    }

    var unixNow: Int64 { Int64(clock.date().timeIntervalSince1970) }
    nonisolated var privateKeyPath: String { LocalNode.privateKeyPath(directory: settings.tincDirectory) }
    nonisolated func statePath(_ name: String) -> String { settings.stateDirectory + "/" + name }

    /// Loads the state, hands the chain to the registry, takes up an interrupted rotation, then
    /// advances rotations (and starts scheduled ones) every tick until cancelled.
    public func run() async {
        load()
        // Before the install the record must keep the new key (peers may have moved their pin);
        // otherwise it is the key files' own, with the chain.
        if let current = state.current, current.phase == .published || current.phase == .installing,
           let key = newKey(), key.publicKey.fingerprintSHA256 == current.newFingerprint {
            await registry.setRotation(key: key, chain: state.chain)
            registryPrimed = true
        } else {
            await registry.setRotation(key: nil, chain: state.chain)
        }
        if let current = state.current {
            logger.notice("taking up an interrupted key rotation", metadata: ["id": "\(current.id)", "phase": "\(current.phase.rawValue)"])
        }
        while !Task.isCancelled {
            if state.current != nil {
                await advance()
            } else if scheduledRotationDue() {
                do {
                    let id = try await start()
                    logger.notice("scheduled key rotation", metadata: ["id": "\(id)"])
                } catch {
                    // Not in sync yet (the agent just started, or etcd is away): next tick.
                    if error != .registryNotReady { note(error.description) }
                }
            }
            try? await clock.sleep(for: settings.tick)
        }
    }

    func load() {
        do {
            state = try RotationState.load(directory: settings.stateDirectory)
            brokenState = nil
        } catch {
            brokenState = error.description
            logger.error("cannot read the rotation state; no key rotation starts until it is repaired", metadata: ["error": "\(error)"])
        }
        publishMetrics()
    }

    /// Begins a rotation: makes and saves the new key (phase `generated`); the loop does the
    /// rest. Refused without a restart command, while one runs, or before the registry is ready.
    @discardableResult
    public func start() async throws(RotationError) -> String {
        if let brokenState { throw .state(path: statePath(RotationState.fileName), reason: brokenState) }
        guard settings.restartCommand != nil else { throw .noRestartCommand }
        if let current = state.current { throw .running(id: current.id, phase: current.phase) }
        guard let me = await registry.localName(), let published = await registry.publishedKeyFingerprint() else {
            throw .registryNotReady
        }
        let old: TincRSAPrivateKey
        do {
            old = try TincRSAPrivateKey(contentsOfFile: privateKeyPath)
        } catch {
            throw .key("cannot read the current private key: \(error)")
        }
        guard old.publicKey.fingerprintSHA256 == published else {
            throw .key("the private key \(privateKeyPath) (SHA256:\(old.publicKey.fingerprintSHA256)) is not the published one (SHA256:\(published))")
        }
        do {
            try StateDirectory.prepare(settings.stateDirectory)
        } catch {
            throw .state(path: settings.stateDirectory, reason: error.reason)
        }
        let bits = settings.bits == 0 ? old.publicKey.modulusBits : settings.bits
        let new: TincRSAPrivateKey
        do {
            new = try TincRSAPrivateKey.generate(bits: bits)
            try new.write(toFile: statePath(RotationState.newKeyFileName))
        } catch {
            throw .key("\(error)")
        }
        let now = unixNow
        let statement: RotationStatement
        do {
            statement = try RotationStatement.sign(name: me.rawValue, from: old, toFingerprintSHA256: new.publicKey.fingerprintSHA256, issuedAt: now)
        } catch {
            throw .key("cannot sign the rotation statement: \(error)")
        }
        let id = "\(me.rawValue)-\(now)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        state.current = .init(id: id, phase: .generated, startedAt: now, oldFingerprint: old.publicKey.fingerprintSHA256,
                              newFingerprint: new.publicKey.fingerprintSHA256, statement: statement)
        try save()
        registryPrimed = false
        lastError = nil
        progress = nil
        logger.notice("key rotation started", metadata: ["id": "\(id)", "bits": "\(bits)", "old_sha256": "\(old.publicKey.fingerprintSHA256)",
                                                         "new_sha256": "\(new.publicKey.fingerprintSHA256)"])
        return id
    }

    public func status() -> Status {
        let current = state.current
        return Status(id: current?.id, phase: state.phase.rawValue, started: current.map { UnixTimeText.rfc3339($0.startedAt) },
                      peersAcked: current == nil ? nil : progress?.acked, peersExpected: current == nil ? nil : progress?.expected,
                      lastID: state.last?.id, lastResult: state.last?.result.rawValue, lastError: state.last?.error ?? lastError,
                      lastFinished: state.last.map { UnixTimeText.rfc3339($0.finishedAt) })
    }

    func save() throws(RotationError) {
        try state.save(directory: settings.stateDirectory)
        publishMetrics()
    }

    /// Saves, or logs why not (the step is then done again after a restart).
    func saveOrLog() {
        do { try save() } catch { note(error.description) }
    }

    func note(_ error: String) {
        if lastError != error { logger.error("key rotation", metadata: ["error": "\(error)"]) }
        lastError = error
    }

    func publishMetrics() {
        let since: Double? = state.keySince.map(Double.init) ?? {
            var info = stat()
            return stat(privateKeyPath, &info) == 0 ? Double(info.st_mtim.tv_sec) : nil
        }()
        metrics.update {
            $0.phase = state.phase
            $0.keySince = since
        }
    }

    func scheduledRotationDue() -> Bool {
        guard let interval = settings.rotateInterval, brokenState == nil, settings.restartCommand != nil else { return false }
        guard let since = metrics.values.withLock({ $0.keySince }) else { return false }
        // A failed rotation waits an interval too, rather than retrying every tick.
        let lastTry = Double(state.last?.finishedAt ?? 0)
        return Double(unixNow) - max(since, lastTry) >= interval.seconds
    }
}
