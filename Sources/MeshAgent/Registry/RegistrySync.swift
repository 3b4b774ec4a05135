import EtcdClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import POSIXSupport
import TincControl

/// The registry side loop (issue 6): publishes this node under `nodes/<name>`, keeps
/// `alive/<name>` on a lease, watches the prefix, and turns every valid record into a tinc
/// host file and the managed ConnectTo lines, then makes tincd reload.
///
/// Files change only from a current view: while etcd cannot be read the agent keeps every
/// file as it is and deletes nothing.
public actor RegistrySync {
    public struct Settings: Sendable {
        /// `/bgpmesh/<mesh>/`, with the trailing slash.
        public var prefix: String
        public var aliveTTL: Duration
        public var maxRecordBytes: Int
        public var tincDirectory: String
        public var tincInterface: String?
        public var fanout: Int
        public var grace: Duration
        /// How often the ConnectTo choice is re-evaluated without registry events (grace expiry, tinc reachability).
        public var tick: Duration

        public init(prefix: String, aliveTTL: Duration = .seconds(5), maxRecordBytes: Int = 64 << 10, tincDirectory: String,
                    tincInterface: String? = nil, fanout: Int = 3, grace: Duration = .seconds(60), tick: Duration = .seconds(2)) {
            self.prefix = prefix
            self.aliveTTL = aliveTTL
            self.maxRecordBytes = maxRecordBytes
            self.tincDirectory = tincDirectory
            self.tincInterface = tincInterface
            self.fanout = fanout
            self.grace = grace
            self.tick = tick
        }
    }

    public nonisolated let settings: Settings
    nonisolated let etcd: EtcdClient
    nonisolated let reloader: TincReloader?
    nonisolated let reachable: @Sendable () -> Set<String>?
    nonisolated let bgp: @Sendable () -> NodeRecord.BGP
    public nonisolated let metrics: RegistryMetrics
    nonisolated let logger: Logger

    private var view: RegistryView
    private var synced = false
    private var me: TincNodeName?
    private var unhealthySince: [TincNodeName: ContinuousClock.Instant] = [:]
    /// Nodes whose record is gone, and since when. Their host files go once they have stayed
    /// gone for `removalHold`, so a prefix wiped by mistake (every agent publishes again within
    /// a third of the TTL) does not tear the mesh down.
    private var pendingRemoval: [TincNodeName: ContinuousClock.Instant] = [:]
    /// After a full range: remove managed host files of nodes the registry no longer has.
    private var sweepManaged = false
    /// This node's record was deleted, replaced or damaged in etcd: put it again.
    private var needsPublish = false
    /// `alive/<name>` is on our current lease (false after a new grant or when the key went).
    private var aliveClaimed = false
    /// Records changed by the registry since their host files were last written. Only these
    /// are written: a file changed behind the agent's back is drift, which the repair loop
    /// (not the registry) puts right, so that `repair.mode=off` really leaves it alone.
    private var dirty: Set<TincNodeName> = []
    /// The ConnectTo set last written (nil until the first plan: then the file is read).
    private var planned: [TincNodeName]?
    private var reloadPending = false
    private var seenRejections: Set<String> = []
    private var lease: Int64?
    private var lastLocalError: String?
    private var lastEtcdError: String?

    public init(settings: Settings, etcd: EtcdClient, reloader: TincReloader?, reachable: @escaping @Sendable () -> Set<String>?,
                bgp: @escaping @Sendable () -> NodeRecord.BGP, metrics: RegistryMetrics, logger: Logger) {
        self.settings = settings
        self.etcd = etcd
        self.reloader = reloader
        self.reachable = reachable
        self.bgp = bgp
        self.metrics = metrics
        var registryLogger = logger
        registryLogger[metadataKey: "component"] = "registry"
        self.logger = registryLogger
        view = RegistryView(prefix: settings.prefix, maxRecordBytes: settings.maxRecordBytes)
    }

    nonisolated var nodesPrefix: String { settings.prefix + "nodes/" }
    nonisolated var alivePrefix: String { settings.prefix + "alive/" }
    nonisolated var hostsDirectory: String { settings.tincDirectory + "/hosts" }
    nonisolated var connectToPath: String { settings.tincDirectory + "/conf.d/bgpmesh.conf" }
    /// How long a node's record must stay gone before its host file is removed.
    nonisolated var removalHold: Duration { settings.aliveTTL * 2 }

    /// Runs the publisher, the watcher and the ticker until cancelled, then revokes the lease
    /// so the other nodes see this one leave at once.
    public func run() async {
        logger.info("registry starting", metadata: ["prefix": "\(settings.prefix)", "tinc_dir": "\(settings.tincDirectory)",
                                                    "connect_to": "\(settings.fanout)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop() }
            group.addTask { await self.watchLoop() }
            group.addTask { await self.tickLoop() }
        }
        await leave()
    }

    /// Revokes the alive lease (bounded by the etcd timeout); called at shutdown.
    public func leave() async {
        guard let id = lease else { return }
        lease = nil
        metrics.update { $0.published = false }
        do {
            _ = try await etcd.leaseRevoke(id)
            logger.info("left the registry (alive lease revoked)")
        } catch {
            logger.notice("could not revoke the alive lease; it expires by itself", metadata: ["error": "\(error)"])
        }
    }

    // MARK: publishing

    private func publishLoop() async {
        var lastPublished: [UInt8] = []
        while !Task.isCancelled {
            let interval = max(settings.aliveTTL / 3, .milliseconds(500))
            let local: (name: TincNodeName, record: NodeRecord)
            do {
                local = try LocalNode.record(directory: settings.tincDirectory, interface: settings.tincInterface, bgp: bgp())
                if lastLocalError != nil { logger.info("this node's record can be built again") }
                lastLocalError = nil
            } catch {
                if lastLocalError != error.description {
                    logger.error("cannot publish this node", metadata: ["error": "\(error)"])
                    metrics.error("local_node")
                }
                lastLocalError = error.description
                metrics.update { $0.published = false }
                try? await Task.sleep(for: .seconds(5))
                continue
            }
            if me != local.name {
                me = local.name
                await reconcile()
            }
            do {
                let value = local.record.encoded()
                if lease == nil {
                    let granted = try await etcd.leaseGrant(ttl: settings.aliveTTL)
                    lease = granted.id
                    aliveClaimed = false
                    lastPublished = []
                }
                if value != lastPublished || needsPublish {
                    needsPublish = false
                    try await publish(local.name, value)
                    lastPublished = value
                }
                if !aliveClaimed {
                    try await claimAlive(local.name)
                    aliveClaimed = true
                }
                metrics.update { $0.published = true }
                etcdRecovered()
                try? await Task.sleep(for: interval)
                if let id = lease { _ = try await etcd.leaseKeepAlive(id) }
            } catch EtcdError.leaseNotFound(let id) {
                logger.notice("alive lease expired; granting a new one and publishing again", metadata: ["lease": "\(id)"])
                metrics.error("lease")
                lease = nil
                lastPublished = []
            } catch let error as AliveKeyHeld {
                metrics.update { $0.published = false }
                logger.warning("\(error)")
                // Keep our own lease while waiting for the other one to expire.
                if let id = lease, (try? await etcd.leaseKeepAlive(id)) == nil { lease = nil }
                try? await Task.sleep(for: .seconds(1))
            } catch let error as EtcdError where Self.leaseIsGone(error) {
                logger.notice("alive lease unknown to etcd; granting a new one", metadata: ["error": "\(error)"])
                metrics.error("lease")
                lease = nil
                lastPublished = []
            } catch {
                metrics.update { $0.published = false }
                metrics.error("publish")
                etcdFailed(error)
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// A put with a lease etcd no longer has fails with gRPC NotFound "requested lease not found".
    static func leaseIsGone(_ error: EtcdError) -> Bool {
        if case .leaseNotFound = error { return true }
        return error.serverMessage?.contains("lease not found") == true
    }

    /// Puts `nodes/<name>` unless etcd already holds exactly these bytes (no needless revisions).
    private func publish(_ name: TincNodeName, _ value: [UInt8]) async throws {
        let key = nodesPrefix + name.rawValue
        if let current = try await etcd.get(key), current.value == value { return }
        _ = try await etcd.put(key, value: value)
        logger.info("published this node's record", metadata: ["key": "\(key)", "bytes": "\(value.count)"])
    }

    struct AliveKeyHeld: Error, CustomStringConvertible {
        var key: String
        var lease: Int64
        var description: String {
            "\(key) is held by lease \(lease): another agent runs with this node's name, or this agent's previous run has not expired yet; waiting"
        }
    }

    /// Creates `alive/<name>` on our lease, unless another lease holds it.
    private func claimAlive(_ name: TincNodeName) async throws {
        guard let id = lease else { return }
        let key = alivePrefix + name.rawValue
        let txn = EtcdTxn(compare: [.missing(key)],
                          success: [.put(key: key, value: Array(BuildInfo.version.utf8), lease: id)],
                          failure: [.range(.key(key))])
        let reply = try await etcd.txn(txn)
        if reply.succeeded { return }
        if case .range(let range)? = reply.responses.first, let held = range.kvs.first, held.lease != id {
            throw AliveKeyHeld(key: key, lease: held.lease)
        }
    }

    // MARK: watching

    private func watchLoop() async {
        var backoff = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let range = try await etcd.range(.prefix(settings.prefix))
                await resync(range.kvs, revision: range.header.revision)
                backoff = .milliseconds(500)
                let stream = etcd.watch(.prefix(settings.prefix), options: EtcdWatchOptions(startRevision: range.header.revision + 1))
                watching: for try await update in stream {
                    switch update {
                    case .created, .progress:
                        continue
                    case .events(let events, let revision):
                        await applyEvents(events, revision: revision)
                    case .compacted(let compactRevision):
                        logger.notice("registry watch fell behind a compaction; reading everything again",
                                      metadata: ["compact_revision": "\(compactRevision)"])
                        break watching
                    }
                }
            } catch {
                if Task.isCancelled { break }
                markUnsynced(error)
                metrics.error("watch")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    private func resync(_ kvs: [EtcdKeyValue], revision: Int64) async {
        let changes = view.reset(kvs, revision: revision)
        dirty.formUnion(view.records.keys)
        let wasSynced = synced
        synced = true
        sweepManaged = true
        etcdRecovered()
        logger.info(wasSynced ? "registry re-read" : "registry in sync",
                    metadata: ["revision": "\(revision)", "nodes": "\(view.records.count)", "alive": "\(view.alive.count)"])
        handle(changes)
        await reconcile()
    }

    private func applyEvents(_ events: [EtcdEvent], revision: Int64) async {
        let changes = view.apply(events, revision: revision)
        handle(changes)
        if !changes.isEmpty { await reconcile() }
        metrics.update { $0.revision = view.revision }
    }

    private func handle(_ changes: [RegistryView.Change]) {
        for change in changes {
            switch change {
            case .rejected(let key, let revision, let reason):
                if let me, key == nodesPrefix + me.rawValue { needsPublish = true }
                // One line and one count per stored version: a re-read does not count it again.
                guard seenRejections.insert("\(revision)\u{0}\(key)").inserted else { continue }
                if seenRejections.count > 4096 { seenRejections.removeAll() }
                metrics.update { $0.rejected[reason, default: 0] += 1 }
                logger.warning("registry record rejected; no file changed",
                               metadata: ["key": "\(TincParseError.excerpt(key))", "reason": "\(reason.rawValue)", "revision": "\(revision)"])
            case .removed(let name):
                if name == me {
                    needsPublish = true
                    logger.warning("this node's record was deleted from etcd; publishing it again")
                    continue
                }
                if pendingRemoval[name] == nil { pendingRemoval[name] = .now }
                logger.notice("node decommissioned (its record was deleted); its host file goes if the record stays gone",
                              metadata: ["peer": "\(name)", "hold": "\(DurationSyntax.format(removalHold))"])
            case .added(let name):
                dirty.insert(name)
                pendingRemoval[name] = nil
                logger.info("node record added", metadata: ["peer": "\(name)"])
            case .updated(let name, let keyChanged):
                dirty.insert(name)
                if name == me { needsPublish = true }
                logger.info("node record updated", metadata: ["peer": "\(name)", "key_changed": "\(keyChanged)"])
            case .becameAlive(let name):
                logger.debug("node alive", metadata: ["peer": "\(name)"])
            case .becameDead(let name):
                if name == me {
                    // Deleted by hand, or expired while etcd could not be reached: claim it again.
                    aliveClaimed = false
                    continue
                }
                logger.info("node no longer alive", metadata: ["peer": "\(name)"])
            }
        }
        let counts = view.counts
        metrics.update {
            $0.nodesAlive = counts.alive
            $0.nodesDead = counts.dead
            $0.revision = view.revision
            $0.synced = synced
        }
    }

    private func markUnsynced(_ error: any Error) {
        if synced {
            logger.warning("registry not current; keeping every tinc file as it is until etcd answers again",
                           metadata: ["error": "\(error)"])
        }
        synced = false
        metrics.update { $0.synced = false }
        etcdFailed(error)
    }

    private func etcdFailed(_ error: any Error) {
        let text = "\(error)"
        if lastEtcdError == nil { logger.warning("etcd unreachable", metadata: ["error": "\(text)"]) }
        lastEtcdError = text
    }

    private func etcdRecovered() {
        if let last = lastEtcdError { logger.info("etcd answers again", metadata: ["last_error": "\(last)"]) }
        lastEtcdError = nil
    }

    private func tickLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.tick)
            await reconcile()
        }
    }

    // MARK: reconciling files

    /// Brings hosts/ and conf.d/bgpmesh.conf in line with the view, then reloads tincd if
    /// anything changed (or a previous reload failed).
    func reconcile() async {
        guard synced, let me else { return }
        var changed = false
        for name in dirty {
            guard name != me, let record = view.records[name] else {
                dirty.remove(name)
                continue
            }
            switch installHostFile(record) {
            case .written: changed = true; dirty.remove(name)
            case .unchanged: dirty.remove(name)
            case .failed: break
            }
        }
        let now = ContinuousClock.now
        if sweepManaged {
            // After a full read the registry is the whole truth: managed host files of nodes it
            // no longer has are due for removal too.
            for name in managedHostFiles() where view.records[name] == nil && name != me && pendingRemoval[name] == nil {
                pendingRemoval[name] = now
            }
            sweepManaged = false
        }
        pendingRemoval = pendingRemoval.filter { view.records[$0.key] == nil && $0.key != me }
        // Only from a registry that holds this node: an empty answer (a wiped or wrong prefix)
        // must not empty hosts/.
        if view.records[me] != nil {
            for (name, since) in pendingRemoval where now - since >= removalHold {
                pendingRemoval[name] = nil
                if removeHostFile(name) { changed = true }
            }
        }
        if updateConnectTo(me) { changed = true }
        if changed {
            reloadPending = true
            metrics.update { $0.lastChange = Date().timeIntervalSince1970 }
        }
        await reloadIfPending()
    }

    private func reloadIfPending() async {
        if reloadPending, let reloader {
            do {
                try await reloader.reloadAndRetry()
                reloadPending = false
                metrics.update { $0.signals += 1 }
                logger.info("tincd reloaded (HUP, ALRM)")
            } catch {
                switch error {
                case .notRunning, .pidfile:
                    // tincd reads the files when it starts.
                    reloadPending = false
                    logger.notice("tincd is not running; it reads the new files when it starts", metadata: ["error": "\(error)"])
                default:
                    metrics.error("signal")
                    logger.warning("could not make tincd reload; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    enum InstallResult { case written, unchanged, failed }

    /// Writes hosts/<peer> when its bytes differ.
    private func installHostFile(_ record: ValidNodeRecord) -> InstallResult {
        let path = record.name.hostFilePath(netDirectory: settings.tincDirectory)
        let existing = try? RegularFile.read(path, limit: TincConfigDirectory.defaultMaxFileBytes)
        if let existing, existing.elementsEqual(record.hostFile.utf8) { return .unchanged }
        let previousKey = existing.flatMap { try? TincRSAPublicKey(pemText: String(decoding: $0, as: UTF8.self)) }
        do {
            try ensureDirectory(hostsDirectory)
            guard try TincAtomicFile.write(record.hostFile, to: path) == .written else { return .unchanged }
        } catch {
            metrics.error("hostfile")
            logger.error("cannot write host file", metadata: ["path": "\(path)", "error": "\(error)"])
            return .failed
        }
        metrics.update { $0.hostfileWrites += 1 }
        if let previousKey, previousKey != record.key {
            metrics.update { $0.keyChanges += 1 }
            logger.warning("peer key replaced", metadata: ["peer": "\(record.name)", "old_sha256": "\(previousKey.fingerprintSHA256)",
                                                           "new_sha256": "\(record.key.fingerprintSHA256)"])
        } else {
            logger.info("host file written", metadata: ["peer": "\(record.name)", "sha256": "\(record.key.fingerprintSHA256)"])
        }
        return .written
    }

    private func removeHostFile(_ name: TincNodeName) -> Bool {
        let path = name.hostFilePath(netDirectory: settings.tincDirectory)
        guard unlink(path) == 0 else {
            if errno != ENOENT {
                metrics.error("hostfile")
                logger.error("cannot remove host file", metadata: ["path": "\(path)", "error": "\(Syscall.errorText(errno, call: "unlink"))"])
            }
            return false
        }
        metrics.update { $0.hostfileRemovals += 1 }
        logger.notice("host file removed", metadata: ["peer": "\(name)"])
        return true
    }

    /// Host files that carry the agent's marker line (written from the registry).
    private func managedHostFiles() -> [TincNodeName] {
        let names = (try? TincConfigDirectory(path: settings.tincDirectory).hostNames()) ?? []
        let marker = Array(RegistryRecordCheck.hostFileMarker.utf8)
        return names.filter { name in
            let path = name.hostFilePath(netDirectory: settings.tincDirectory)
            guard let bytes = try? RegularFile.read(path, limit: TincConfigDirectory.defaultMaxFileBytes) else { return false }
            return bytes.starts(with: marker)
        }
    }

    /// Re-plans the ConnectTo lines and writes conf.d/bgpmesh.conf when the set changes.
    private func updateConnectTo(_ me: TincNodeName) -> Bool {
        let now = ContinuousClock.now
        let reached = reachable()
        var peers: [ConnectToPlanner.Peer] = []
        for name in view.records.keys where name != me {
            let alive = view.alive.contains(name)
            let healthy = alive && (reached.map { $0.contains(name.rawValue) } ?? true)
            if healthy {
                unhealthySince[name] = nil
            } else if unhealthySince[name] == nil {
                unhealthySince[name] = now
            }
            peers.append(.init(name: name, alive: alive, unhealthySince: unhealthySince[name]))
        }
        unhealthySince = unhealthySince.filter { view.records[$0.key] != nil }
        let current = planned ?? currentConnectTo()
        let planner = ConnectToPlanner(fanout: settings.fanout, grace: settings.grace)
        let chosen = planner.plan(self: me, peers: peers, current: current, now: now)
        metrics.update { $0.connectTo = chosen.map(\.rawValue) }
        // The file is written when the plan changes (or at the first plan); a file edited
        // behind the agent's back is drift, for the repair loop.
        if planned != nil && chosen == planned { return false }
        return writeConnectTo(chosen, previous: current)
    }

    private func connectToText(_ chosen: [TincNodeName]) -> String {
        TincConfigWriter.connectToFile(chosen, header: """
            Managed by bgpmesh-agent; do not edit.
            ConnectTo peers chosen from the etcd registry (\(settings.prefix)), \(settings.fanout) at most.
            """)
    }

    private func writeConnectTo(_ chosen: [TincNodeName], previous current: [TincNodeName]) -> Bool {
        let text = connectToText(chosen)
        do {
            try ensureDirectory(settings.tincDirectory + "/conf.d")
            guard try TincAtomicFile.write(text, to: connectToPath) == .written else {
                planned = chosen
                return false
            }
        } catch {
            metrics.error("connectto")
            logger.error("cannot write ConnectTo file", metadata: ["path": "\(connectToPath)", "error": "\(error)"])
            return false
        }
        planned = chosen
        metrics.update { $0.connectToChanges += 1 }
        logger.notice("ConnectTo changed", metadata: ["from": "\(current.map(\.rawValue).joined(separator: ","))",
                                                      "to": "\(chosen.map(\.rawValue).joined(separator: ","))"])
        return true
    }

    /// The ConnectTo lines conf.d/bgpmesh.conf holds now (none when it is missing or broken).
    private func currentConnectTo() -> [TincNodeName] {
        guard let bytes = try? RegularFile.read(connectToPath, limit: TincConfigDirectory.defaultMaxFileBytes),
              let text = String(validating: bytes, as: UTF8.self),
              let entries = try? TincConfigParser.parse(text, file: connectToPath) else { return [] }
        return entries.filter { $0.isVariable("ConnectTo") }.compactMap { TincNodeName($0.value) }
    }

    // MARK: drift, for the repair loop

    /// What the health model needs from the registry, read in one actor turn.
    public struct Health: Sendable {
        public var node: String?
        public var synced: Bool
        public var published: Bool
        /// Every valid record but this node's, with whether it is alive and how its host file is.
        public var peers: [(name: String, alive: Bool, hostFile: MeshState.HostFileState, overlay: [String])]
        /// conf.d/bgpmesh.conf differs from the plan.
        public var connectToDrift: Bool
        public var connectTo: [String]
    }

    /// Compares hosts/ and conf.d/bgpmesh.conf with what the registry says they hold. Files
    /// being written for a registry change are not drift: that write happens in the same turn.
    public func health() -> Health {
        var peers: [(String, Bool, MeshState.HostFileState, [String])] = []
        for (name, record) in view.records where name != me {
            let path = name.hostFilePath(netDirectory: settings.tincDirectory)
            let state: MeshState.HostFileState
            if let bytes = try? RegularFile.read(path, limit: TincConfigDirectory.defaultMaxFileBytes) {
                state = bytes.elementsEqual(record.hostFile.utf8) ? .ok : .mismatch
            } else {
                state = .missing
            }
            peers.append((name.rawValue, view.alive.contains(name), state, record.record.overlay.addresses))
        }
        var drift = false
        if let planned {
            let onDisk = try? RegularFile.read(connectToPath, limit: TincConfigDirectory.defaultMaxFileBytes)
            drift = onDisk.map { !$0.elementsEqual(connectToText(planned).utf8) } ?? true
        }
        let published = metrics.values.withLock { $0.published }
        return Health(node: me?.rawValue, synced: synced, published: published, peers: peers.sorted { $0.0 < $1.0 },
                      connectToDrift: drift, connectTo: (planned ?? []).map(\.rawValue))
    }

    /// Repair: writes every host file that differs from its record and/or the planned
    /// ConnectTo file, then HUP + ALRM. Returns how many files it wrote.
    public func repairFiles(hostFiles: Bool, connectTo: Bool) async -> Int {
        guard let me else { return 0 }
        var written = 0
        if hostFiles {
            for (name, record) in view.records where name != me {
                if case .written = installHostFile(record) { written += 1 }
            }
        }
        if connectTo, let planned {
            if writeConnectTo(planned, previous: currentConnectTo()) { written += 1 }
        }
        if written > 0 {
            reloadPending = true
            metrics.update { $0.lastChange = Date().timeIntervalSince1970 }
        }
        await reloadIfPending()
        return written
    }

    private func ensureDirectory(_ path: String) throws(TincFileError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .system(path: path, call: "mkdir", errno: errno) }
    }
}
