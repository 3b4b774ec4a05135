import EtcdClient
import Logging
import POSIXSupport
import TincControl

/// The registry side loop (issue 6): publishes this node under `nodes/<name>`, keeps
/// `alive/<name>` on a lease, watches the prefix, and turns every valid record into a tinc
/// host file and the managed ConnectTo lines, then makes tincd reload.
///
/// Files change only from a current view: while etcd cannot be read the agent keeps every
/// file as it is and deletes nothing. The jobs live in their own rooms: publishing
/// (`+Publish`), watching (`+Watch`), reconciling files (`+Reconcile`, deciding with
/// `HostFileReconciler` and `ConnectToPlanner`) and drift (`RegistryDrift`).
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
        /// The agent's state directory (`state.dir`): pins and the list of files it wrote. Nil
        /// keeps both in memory only (tests).
        public var stateDirectory: String?
        /// `mesh.overlay-prefixes`: every record's overlay addresses and subnets lie in these.
        public var overlayPrefixes: [IPPrefix]
        /// `registry.max-nodes` and `registry.max-subnets`.
        public var maxNodes: Int
        public var maxSubnets: Int
        /// `registry.admin-public-key`, loaded: with it a name needs an enrollment statement.
        public var adminKey: TincRSAPublicKey?
        /// This node's enrollment statement file, attached to its record when present.
        public var enrollmentFile: String?
        /// How long this node acknowledges another node's rotation in its record, counted from
        /// the rotation's `issued_at`: 4 x `keys.rotation-ack-timeout` (docs/rotation.md).
        public var keyAckLifetime: Duration = .seconds(240)

        public init(prefix: String, aliveTTL: Duration = .seconds(5), maxRecordBytes: Int = 64 << 10, tincDirectory: String,
                    tincInterface: String? = nil, fanout: Int = 3, grace: Duration = .seconds(60), tick: Duration = .seconds(2),
                    stateDirectory: String? = nil,
                    overlayPrefixes: [IPPrefix] = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].compactMap { IPPrefix($0) },
                    maxNodes: Int = 1024, maxSubnets: Int = 16, adminKey: TincRSAPublicKey? = nil, enrollmentFile: String? = nil) {
            self.stateDirectory = stateDirectory
            self.overlayPrefixes = overlayPrefixes
            self.maxNodes = maxNodes
            self.maxSubnets = maxSubnets
            self.adminKey = adminKey
            self.enrollmentFile = enrollmentFile
            self.prefix = prefix
            self.aliveTTL = aliveTTL
            self.maxRecordBytes = maxRecordBytes
            self.tincDirectory = tincDirectory
            self.tincInterface = tincInterface
            self.fanout = fanout
            self.grace = grace
            self.tick = tick
        }

        /// How long a node's record must stay gone before its host file is removed.
        var removalHold: Duration { aliveTTL * 2 }

        /// The bytes of conf.d/bgpmesh.conf for a ConnectTo choice.
        func connectToText(_ chosen: [TincNodeName]) -> String {
            TincConfigWriter.connectToFile(chosen, header: """
                Managed by bgpmesh-agent; do not edit.
                ConnectTo peers chosen from the etcd registry (\(prefix)), \(fanout) at most.
                """)
        }
    }

    /// The conf.d file that holds the managed ConnectTo lines.
    static let connectToFile = "bgpmesh.conf"

    public nonisolated let settings: Settings
    nonisolated let etcd: EtcdClient
    nonisolated let reloader: TincReloader?
    nonisolated let reachable: @Sendable () -> Set<String>?
    nonisolated let bgp: @Sendable () -> NodeRecord.BGP
    public nonisolated let metrics: RegistryMetrics
    nonisolated let logger: Logger
    nonisolated let clock: AgentClock
    nonisolated let files: TincConfigDirectory
    /// Writes bird.peers-file from the records after each synced round (`offerPeers`); nil without `bird.peers-file`.
    public nonisolated let peersWriter: BGPPeersWriter?

    var view: RegistryView
    var synced = false
    var me: TincNodeName?
    var hostFiles: HostFileReconciler
    /// The host files this agent wrote (state.dir/owned-files.json): only those are its to change.
    var ownedFiles: OwnedFiles
    var peerHealth = ConnectToPlanner.HealthTracker()
    /// The ConnectTo set last written (nil until the first plan: then the file is read).
    var planned: [TincNodeName]?
    var reloadPending = false
    var seenRejections: Set<String> = []
    /// This node's record was deleted, replaced or damaged in etcd: put it again.
    var needsPublish = false
    /// `alive/<name>` is on our current lease (false after a new grant or when the key went).
    var aliveClaimed = false
    var lease: Int64?
    var lastLocalError: String?
    var lastEtcdError: String?
    /// Reconcile rounds begun (synced or not), for tests that wait for a round to pass.
    var rounds = 0
    /// The pins are loaded (or there is no state directory); records are judged only then.
    var pinsLoaded = false
    var pinStamp: FileStamp?
    var lastPinError: String?
    /// Signs this node's record (publish loop).
    var signer = RecordSigner()
    var lastSignError: String?
    var enrollmentWarned = false
    /// The key each peer's host file holds since this agent wrote it (or found it right): what
    /// this node acknowledges to a rotating peer (`keyAcks`).
    var installedKeys: [TincNodeName: String] = [:]
    /// Files (relative to the tinc directory) whose last write failed, with the error: health's
    /// `file_write_failed` and `bgpmesh_registry_files_unwritable`.
    var writeFailures: [String: String] = [:]
    /// During a key rotation: the key the record carries and is signed with (`setRotation`).
    var rotationKey: TincRSAPrivateKey?
    /// The rotation statements every record carries (`RotationState.chain`).
    var rotationChain: [RotationStatement] = []
    var publishedFingerprint: String?
    /// Cuts the publish loop's wait short (a rotation wants its record out now).
    let publishWake = WakeSignal()
    /// Every node's view under `views/`, and this node's last put (RegistrySync+Views.swift).
    var viewStore = ViewStore()
    /// This node's view, published under `views/<name>`; nothing is published until it is set.
    public nonisolated let viewSource = ViewSource()

    public init(settings: Settings, etcd: EtcdClient, reloader: TincReloader?, reachable: @escaping @Sendable () -> Set<String>?,
                bgp: @escaping @Sendable () -> NodeRecord.BGP, metrics: RegistryMetrics, logger: Logger,
                clock: AgentClock = .system, peersWriter: BGPPeersWriter? = nil) {
        self.settings = settings
        self.peersWriter = peersWriter
        self.etcd = etcd
        self.reloader = reloader
        self.reachable = reachable
        self.bgp = bgp
        self.metrics = metrics
        var registryLogger = logger
        registryLogger[metadataKey: "component"] = "registry"
        self.logger = registryLogger
        self.clock = clock
        files = TincConfigDirectory(path: settings.tincDirectory)
        view = RegistryView(prefix: settings.prefix,
                            rules: .init(maxBytes: settings.maxRecordBytes, overlayPrefixes: settings.overlayPrefixes,
                                         maxSubnets: settings.maxSubnets, maxNodes: settings.maxNodes),
                            adminKey: settings.adminKey)
        hostFiles = HostFileReconciler(removalHold: settings.removalHold)
        ownedFiles = OwnedFiles.load(directory: settings.stateDirectory)
        if let broken = ownedFiles.broken {
            metrics.error("owned_files")
            self.logger.error("ledger of owned files unusable; no host file counts as the agent's until it is repaired or removed",
                              metadata: ["error": "\(broken)"])
        }
    }

    nonisolated var nodesPrefix: String { settings.prefix + "nodes/" }
    nonisolated var alivePrefix: String { settings.prefix + "alive/" }

    /// Runs the publisher, the watcher and the ticker until cancelled, then revokes the lease
    /// so the other nodes see this one leave at once.
    public func run() async {
        logger.info("registry starting", metadata: ["prefix": "\(settings.prefix)", "tinc_dir": "\(settings.tincDirectory)",
                                                    "connect_to": "\(settings.fanout)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop() }
            group.addTask { await self.watchLoop() }
            group.addTask { await self.tickLoop() }
            group.addTask { await self.viewPublishLoop() }
            group.addTask { await self.viewWatchLoop() }
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

    private func tickLoop() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: settings.tick)
            if synced { await refreshPins() }
            await reconcile()
        }
    }

    func etcdFailed(_ error: any Error) {
        let text = "\(error)"
        if lastEtcdError == nil { logger.warning("etcd unreachable", metadata: ["error": "\(text)"]) }
        lastEtcdError = text
    }

    func etcdRecovered() {
        if let last = lastEtcdError { logger.info("etcd answers again", metadata: ["last_error": "\(last)"]) }
        lastEtcdError = nil
    }
}

extension RegistrySync {
    /// Every peer's name and overlay addresses, from the view alone (no file is read): what
    /// the probes target, once per probe round.
    public func peerOverlays() -> [(name: String, overlay: [String])] {
        view.records.filter { $0.key != me }.map { ($0.key.rawValue, $0.value.record.overlay.addresses) }.sorted { $0.name < $1.name }
    }
}
