import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EtcdClient
import Glibc
import Logging
import POSIXSupport
import Synchronization
import TincControl

/// Writes `bird.peers-file` from the registry and has BIRD apply it (issue 15). The registry
/// hands it, after each synced round, the valid records and the names whose block stays as it
/// is (`offer`); its own loop renders the file (`BGPPeersFile`), writes it only when the bytes
/// change and only when the file is the agent's (`BGPPeersLedger`), then runs `configure check`
/// and `configure` on BIRD's control socket, each with the BIRD command deadline.
///
/// A config BIRD refuses puts the previous bytes back, and is retried with backoff or as soon
/// as the wanted bytes change. BIRD not answering leaves the new file in place (BIRD reads it
/// when it starts) and is retried with backoff.
public actor BGPPeersWriter {
    public struct Settings: Sendable {
        /// `bird.peers-file`.
        public var path: String
        /// `bird.template`, `bird.rr-cluster-id`, `bird.bfd`, `bird.password-file`.
        public var template: String
        public var clusterID: String?
        public var bfd: Bool
        public var passwordFile: String?
        /// `mesh.role` and `mesh.bgp-topology`.
        public var role: BGPRole
        public var topology: BGPTopology
        /// Named in the file's header.
        public var registryPrefix: String
        /// `state.dir`, for the ledger; nil keeps it in memory (tests).
        public var stateDirectory: String?
        /// How often the file is checked without news from the registry (password file, edits).
        public var interval: Duration = .seconds(10)
        /// Backoff of a failed or refused apply.
        public var retryBase: Duration = .seconds(1)
        public var retryCap: Duration = .seconds(60)

        public init(path: String, template: String = "bgpmesh", clusterID: String? = nil, bfd: Bool = false, passwordFile: String? = nil,
                    role: BGPRole = .client, topology: BGPTopology = .full, registryPrefix: String, stateDirectory: String? = nil) {
            self.path = path
            self.template = template
            self.clusterID = clusterID
            self.bfd = bfd
            self.passwordFile = passwordFile
            self.role = role
            self.topology = topology
            self.registryPrefix = registryPrefix
            self.stateDirectory = stateDirectory
        }
    }

    /// What the registry hands over after a synced round.
    public struct Input: Sendable, Equatable {
        /// This node's name.
        public var me: String
        /// Every valid record, sorted by name.
        public var records: [NodeRecord]
        /// Names whose current block stays as it is: their record is gone but within the host
        /// file's hold (`HostFileReconciler.pendingRemoval`), or their current value is refused.
        public var kept: Set<String>

        public init(me: String, records: some Sequence<NodeRecord>, kept: Set<String> = []) {
            self.me = me
            self.records = records.sorted { $0.name < $1.name }
            self.kept = kept
        }
    }

    private struct Shared {
        var input: Input?
        var state = BGPPeersState()
    }

    public nonisolated let settings: Settings
    public nonisolated let metrics: BGPPeersMetrics
    nonisolated let bird: BIRDClient
    nonisolated let logger: Logger
    nonisolated let clock: AgentClock
    private nonisolated let shared = Mutex(Shared())
    private nonisolated let wake = WakeSignal()

    var ledger: BGPPeersLedger
    var backoff: Backoff
    /// The wanted bytes last tried and not applied, and when to try them again; other bytes are
    /// tried at once. Refused bytes are not even written again before then; bytes BIRD did not
    /// answer about stay in the file (put right if it changes), only the apply waits.
    var retry: (hash: String, at: ContinuousClock.Instant, refused: Bool)?
    /// The hash of the bytes BIRD applied in this run (nil at start: the first round applies).
    var appliedHash: String?
    /// The last failure logged, so a failure that repeats every round is logged once.
    var lastLogged: String?
    /// Names that cannot make a protocol name, and clients with another AS number, last logged.
    var lastUnnamed: [String] = []
    var lastUnusableAS: [String] = []

    /// `bird` must be an unrestricted client (`configure` needs it); its timeout bounds each command.
    public init(settings: Settings, bird: BIRDClient, metrics: BGPPeersMetrics = BGPPeersMetrics(), logger: Logger,
                clock: AgentClock = .system) {
        self.settings = settings
        self.bird = bird
        self.metrics = metrics
        var writerLogger = logger
        writerLogger[metadataKey: "component"] = "bird_peers"
        self.logger = writerLogger
        self.clock = clock
        ledger = BGPPeersLedger.load(directory: settings.stateDirectory)
        backoff = Backoff(base: settings.retryBase, cap: settings.retryCap)
    }

    /// What the writer last did: for health and status. Never waits for BIRD or the disk.
    public nonisolated var state: BGPPeersState {
        shared.withLock { $0.state }
    }

    /// The registry's latest records and kept names; a change wakes the loop.
    public nonisolated func offer(_ input: Input) {
        let changed = shared.withLock { shared in
            defer { shared.input = input }
            return shared.input != input
        }
        if changed { wake.signal() }
    }

    /// Runs rounds until cancelled: at each offer that changes something, at each retry, and
    /// every `interval`.
    public func run() async {
        logger.info("peers file writer starting", metadata: ["file": "\(settings.path)", "topology": "\(settings.topology.rawValue)",
                                                            "role": "\(settings.role.rawValue)", "template": "\(settings.template)"])
        while !Task.isCancelled {
            await round()
            var wait = settings.interval
            if let retry { wait = max(min(wait, retry.at - clock.now()), .milliseconds(1)) }
            await wake.wait(upTo: wait, clock: clock)
        }
    }

    private func updateState(_ body: (inout BGPPeersState) -> Void) {
        shared.withLock { body(&$0.state) }
    }

    /// Logs `message` at `level` unless it is the failure logged last.
    func logOnce(_ level: Logger.Level, _ message: String, metadata: Logger.Metadata) {
        let key = message + "\(metadata.sorted { $0.key < $1.key })"
        guard key != lastLogged else { return }
        lastLogged = key
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}

extension BGPPeersWriter {
    /// One round: render, write when changed, apply when not applied yet. Tests call it directly.
    public func round() async {
        guard let input = shared.withLock({ $0.input }) else { return }
        let path = settings.path
        ledger.retryIfBroken()

        var options = BGPPeersFile.Options(template: settings.template, clusterID: settings.clusterID, bfd: settings.bfd,
                                           registryPrefix: settings.registryPrefix)
        if let file = settings.passwordFile {
            do {
                options.passwordLiteral = try BGPPeersPassword.literal(path: file)
            } catch {
                return failed(error, kind: "password")
            }
        }
        let onDisk: [UInt8]?
        do {
            onDisk = try Self.read(path)
        } catch {
            return failed(error, kind: "read")
        }
        // An empty file is the operator's placeholder for BIRD's first start (bird.conf includes it): free to take.
        let ownedFile = onDisk.map { $0.isEmpty || (ledger.owns(path) && BGPPeersFile.hasMarker($0)) } ?? true
        let current = onDisk.map { String(decoding: $0, as: UTF8.self) }
        let onFile = ownedFile ? current.map(BGPPeersFile.blocks(in:)) ?? [:] : [:]
        let kept = onFile.filter { input.kept.contains($0.key) }
        let plan = BGPPeerPlan.make(me: input.me, role: settings.role, topology: settings.topology, records: input.records)
        let localASN = input.records.first { $0.name == input.me }?.bgp.asn
        let rendered = BGPPeersFile.render(plan: plan, kept: kept, options: options, localASN: localASN)
        let wanted = Array(rendered.text.utf8)
        if rendered.unnamed != lastUnnamed {
            lastUnnamed = rendered.unnamed
            if !rendered.unnamed.isEmpty {
                logger.warning("node names too long for a BIRD protocol name (bgpmesh_<name>, 64 bytes at most); no session for them",
                               metadata: ["peers": "\(rendered.unnamed.joined(separator: ","))"])
            }
        }
        if rendered.unusableAS != lastUnusableAS {
            lastUnusableAS = rendered.unusableAS
            if !rendered.unusableAS.isEmpty {
                logger.warning("""
                    peers whose AS number BIRD would refuse (0, or a route reflector client with another AS number than this node's: \
                    rr client is for iBGP only); no session for them
                    """, metadata: ["peers": "\(rendered.unusableAS.joined(separator: ","))", "local_as": "\(localASN.map(String.init) ?? "")"])
            }
        }
        metrics.update {
            $0.configured = rendered.peers.count
            $0.skipped = Dictionary(grouping: plan.skipped.values, by: { $0 }).mapValues(\.count)
        }
        updateState {
            $0.plan = plan
            $0.kept = kept.keys.sorted()
        }

        if let onDisk, !ownedFile {
            guard onDisk == wanted else {
                let reason = ledger.broken.map { "the ledger is unusable: \($0)" }
                    ?? (BGPPeersFile.hasMarker(onDisk) ? "the ledger in state.dir does not record it" : "it has no bgpmesh-agent header")
                metrics.update { $0.conflict = true }
                updateState { $0.conflict = BGPPeersError.conflict(path: path, reason: reason).description }
                logOnce(.error, "peers file is not the agent's; leaving it as it is (conflict)", metadata: ["file": "\(path)", "reason": "\(reason)"])
                return
            }
            // The upgrade rule: exactly the bytes the agent writes, so taking it in harms nothing.
            do {
                try ledger.record(path, bytes: wanted)
            } catch {
                return failed(error, kind: "ledger")
            }
            logger.notice("peers file adopted: it holds exactly what the agent writes", metadata: ["file": "\(path)"])
        }
        metrics.update { $0.conflict = false }
        updateState {
            $0.conflict = nil
            $0.error = nil
        }

        guard let hash = OwnedFiles.hash(wanted) else { return failed(.write(path: path, reason: "cannot hash (no libcrypto)"), kind: "write") }
        if onDisk == wanted && appliedHash == hash { return }
        let waiting = retry.map { $0.hash == hash && clock.now() < $0.at } ?? false
        if waiting && retry?.refused == true { return }

        if onDisk != wanted {
            if let onDisk, let last = ledger.sha256, OwnedFiles.hash(onDisk) != last {
                logger.notice("peers file changed behind the agent's back; putting it right", metadata: ["file": "\(path)"])
            }
            guard write(wanted) else { return }
            let before = Set(onFile.keys), after = Set(rendered.peers)
            logger.notice("peers file written", metadata: [
                "file": "\(path)", "peers": "\(rendered.peers.count)",
                "added": "\(after.subtracting(before).sorted().joined(separator: ","))",
                "removed": "\(before.subtracting(after).sorted().joined(separator: ","))"])
        }
        if waiting { return }
        await apply(hash: hash, previous: onDisk == wanted ? nil : .some(onDisk))
    }

    /// `configure check`, then `configure`. `previous` is what the file held before this round
    /// wrote it (`.some(nil)`: there was no file); nil when this round wrote nothing.
    func apply(hash: String, previous: [UInt8]??) async {
        let path = settings.path
        let outcome: BIRDConfigureOutcome
        do {
            try await bird.configureCheck()
            outcome = try await bird.reconfigure()
        } catch {
            if case .daemon(let code, let text, let command) = error, code == BIRDConfigureOutcome.configurationErrorCode {
                let message = "\(code) \(text)"
                var restored = false
                if let previous { restored = putBack(previous) }
                metrics.update {
                    $0.applies[.refused, default: 0] += 1
                    $0.refused = true
                    if restored { $0.rollbacks += 1 }
                }
                let now = clock.date()
                updateState { $0.refused = .init(message: message, since: $0.refused?.since ?? now) }
                retry = (hash, clock.now() + backoff.next(), true)
                logger.error("BIRD refused the peers config; it keeps running the previous one",
                             metadata: ["file": "\(path)", "command": "\(command)", "bird": "\(message)",
                                        "previous_file": "\(previous == nil ? "unchanged" : restored ? "put back" : "not put back")"])
                return
            }
            return unavailable(hash: hash, reason: error.description)
        }
        guard outcome.isAccepted else { return unavailable(hash: hash, reason: "BIRD ignored configure: it is shutting down") }
        appliedHash = hash
        retry = nil
        lastLogged = nil
        backoff.reset()
        let now = clock.date()
        metrics.update {
            $0.applies[.applied, default: 0] += 1
            $0.refused = false
            $0.pending = false
            $0.lastApplied = now.timeIntervalSince1970
        }
        updateState {
            $0.refused = nil
            $0.pending = false
            $0.lastApplied = now
        }
        logger.info("BIRD applied the peers file", metadata: ["file": "\(path)"])
    }

    /// BIRD did not answer, or did not take the file: it stays in place, retried with backoff.
    func unavailable(hash: String, reason: String) {
        metrics.update {
            $0.applies[.unavailable, default: 0] += 1
            $0.pending = true
        }
        updateState { $0.pending = true }
        retry = (hash, clock.now() + backoff.next(), false)
        logOnce(.warning, "BIRD did not apply the peers file; it stays in place (BIRD reads it when it starts), retrying",
                metadata: ["file": "\(settings.path)", "error": "\(reason)"])
    }

    /// Records the bytes in the ledger, then writes them atomically (mode 640 when they hold a
    /// password, else 644); false, logged and counted, when either fails.
    func write(_ bytes: [UInt8]) -> Bool {
        let path = settings.path
        do {
            try ledger.record(path, bytes: bytes)
        } catch {
            failed(error, kind: "ledger")
            return false
        }
        let secret = bytes.firstRange(of: Array("\n\tpassword ".utf8)) != nil
        do {
            try TincAtomicFile.write(bytes, to: path, mode: secret ? 0o640 : 0o644)
        } catch {
            failed(.write(path: path, reason: "\(error)"), kind: "write")
            return false
        }
        metrics.update { $0.writes += 1 }
        return true
    }

    /// Puts back what the file held before (removes it when there was none); true when done.
    func putBack(_ previous: [UInt8]?) -> Bool {
        guard let previous else {
            if unlink(settings.path) == 0 || errno == ENOENT { return true }
            failed(.write(path: settings.path, reason: Syscall.errorText(errno, call: "unlink")), kind: "write")
            return false
        }
        return write(previous)
    }

    func failed(_ error: BGPPeersError, kind: String) {
        metrics.error(kind)
        updateState { $0.error = error.description }
        logOnce(.error, "peers file not updated", metadata: ["error": "\(error)"])
    }

    /// The file's bytes, nil when it does not exist.
    static func read(_ path: String) throws(BGPPeersError) -> [UInt8]? {
        do {
            return try RegularFile.read(path, limit: 16 << 20)
        } catch {
            if case .system(_, "open", ENOENT) = error { return nil }
            throw .read(path: path, reason: error.reason)
        }
    }
}
