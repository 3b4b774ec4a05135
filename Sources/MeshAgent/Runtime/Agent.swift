import BIRDControl
import EtcdClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Exposition
import HTTPServer
import Logging
import POSIXSupport
import Synchronization
import TincControl

/// The running agent: collectors, the HTTP server and its routes.
public final class Agent: Sendable {
    public let configuration: AgentConfiguration
    public let collectors: CollectorSet
    let httpMetrics: HTTPRequestMetrics
    /// Counts of the webhook's alerts; nil when no repair service serves the API.
    let webhookMetrics: WebhookMetrics?
    let logger: Logger
    private let server: HTTPServer
    /// The health model and repair loop; nil when the collectors were given by a test.
    public let repair: RepairController?

    public static let routePaths: Set<String> = ["/", "/metrics", "/healthz", "/readyz"]

    /// Background loops (samplers) started with the server and cancelled at shutdown.
    private let loops: [@Sendable () async -> Void]
    private let running = Mutex<[Task<Void, Never>]>([])

    /// What `makeCollectors` builds.
    public struct Parts: Sendable {
        public var collectors: [any Collector]
        public var loops: [@Sendable () async -> Void]
        /// The health model and repair loop (also behind the webhook and /api/v1/status).
        public var repair: RepairController?
    }

    /// The collectors the configuration enables, the background loops that feed them, and
    /// the repair loop that reads what they keep.
    public static func makeCollectors(for configuration: AgentConfiguration, logger: Logger) -> Parts {
        var collectors: [any Collector] = []
        var loops: [@Sendable () async -> Void] = []
        if configuration.collectors["process"] == true { collectors.append(ProcessCollector()) }
        var birdCollector: BIRDCollector?
        var sessionHistory: BGPSessionHistory?
        var registrySync: RegistrySync?
        var probeHistory: ProbeHistory?
        var tincCollector: TincCollector?
        if configuration.collectors["bird"] == true {
            func client() -> BIRDClient {
                var birdLogger = logger
                birdLogger[metadataKey: "collector"] = "bird"
                return BIRDClient(configuration: .init(socketPath: configuration.birdSocket, restricted: true,
                                                       timeout: configuration.birdCommandTimeout), logger: birdLogger)
            }
            let history = BGPSessionHistory(stablePolls: configuration.birdConvergenceStablePolls)
            sessionHistory = history
            let routeCounts = BIRDRouteCountCache()
            // The sampler has its own connection, so a scrape never queues behind a poll.
            let sampler = BIRDSessionSampler(client: client(), history: history, interval: configuration.birdSamplerInterval,
                                             routeCounts: routeCounts, routeCountInterval: configuration.birdRouteCountInterval,
                                             logger: logger)
            loops.append { await sampler.run() }
            let bird = BIRDCollector(client: client(), history: history, routeCounts: routeCounts,
                                     compat: configuration.birdCompat, logger: logger)
            birdCollector = bird
            collectors.append(bird)
        }
        var tincDumps: TincDumpState?
        var tincClient: TincDaemonClient?
        var tincLogger = logger
        tincLogger[metadataKey: "collector"] = "tinc"
        let registryOn = configuration.registryEnabled && !configuration.etcdEndpoints.isEmpty
        if configuration.collectors["tinc"] == true || registryOn {
            // One client for the collector and the registry: its lock and pacing keep their
            // signals to tincd apart.
            tincClient = TincDaemonClient(configuration: .init(
                net: configuration.tincNet, directory: configuration.tincDir, pidfile: configuration.tincPidfile,
                logfile: configuration.tincLogfile, minimumDumpInterval: configuration.tincMinDumpInterval,
                signalSpacing: TincDumpSampler.signalSpacing(minimumDumpInterval: configuration.tincMinDumpInterval),
                signalLockPath: configuration.tincSignalLockFile), logger: tincLogger)
        }
        if configuration.collectors["tinc"] == true, let client = tincClient {
            let dumps = TincDumpState()
            let sampler = TincDumpSampler(client: client, state: dumps, interval: configuration.tincMinDumpInterval, logger: tincLogger)
            loops.append { await sampler.run() }
            let tinc = TincCollector(client: client, dumps: dumps, sampler: sampler, interface: configuration.tincInterface)
            tincCollector = tinc
            tincDumps = dumps
            collectors.append(tinc)
        }
        var etcdClient: EtcdClient?
        let etcdRequests = EtcdRequestMetrics()
        if !configuration.etcdEndpoints.isEmpty, configuration.collectors["etcd"] == true || registryOn {
            do {
                etcdClient = try EtcdClient(configuration: try etcdConfiguration(configuration), logger: logger,
                                            observer: { etcdRequests.observe(op: $0, duration: $1, success: $2) })
            } catch {
                logger.error("etcd is configured but unusable; the etcd collector and the registry are off", metadata: ["error": "\(error)"])
            }
        }
        if configuration.collectors["etcd"] == true, let client = etcdClient {
            collectors.append(EtcdCollector(client: client, requests: etcdRequests))
        }
        if registryOn, let client = etcdClient, let tinc = tincClient {
            let metrics = RegistryMetrics()
            let dumps = tincDumps, bird = birdCollector
            let settings = RegistrySync.Settings(
                prefix: configuration.effectiveRegistryPrefix, aliveTTL: configuration.registryAliveTTL,
                maxRecordBytes: configuration.registryMaxRecordBytes, tincDirectory: tinc.configuration.directoryPath,
                tincInterface: configuration.tincInterface, fanout: configuration.meshConnectTo, grace: configuration.meshConnectToGrace)
            let registry = RegistrySync(
                settings: settings, etcd: client, reloader: TincReloader(daemon: tinc),
                // Unknown (no fresh dump) is not unreachable.
                reachable: { dumps?.reachableNodes(maxAge: configuration.tincMinDumpInterval * 4) },
                bgp: { LocalNode.bgp(from: bird?.lastSnapshot) }, metrics: metrics, logger: logger)
            loops.append { await registry.run() }
            registrySync = registry
            collectors.append(RegistryCollector(metrics: metrics))
        }
        if configuration.collectors["probe"] == true {
            let rounds = Int((configuration.probeWindow.seconds / configuration.probeInterval.seconds).rounded())
            let configured = configuration.probeTargets
            let bird = birdCollector, tinc = tincCollector
            var probeLogger = logger
            probeLogger[metadataKey: "collector"] = "probe"
            let probes = ProbeHistory(windowRounds: rounds)
            probeHistory = probes
            let sampler = ProbeSampler(
                history: probes, interval: configuration.probeInterval,
                timeout: configuration.probeTimeout, logger: probeLogger
            ) {
                ProbeTargets.gather(configured: configured, bird: bird?.lastSnapshot, tinc: tinc?.lastSnapshot)
            }
            loops.append { await sampler.run() }
            collectors.append(ProbeCollector(sampler: sampler))
        }

        var settings = RepairController.Settings()
        settings.mode = configuration.repairMode
        settings.interval = configuration.repairInterval
        settings.policy.bgpGrace = configuration.repairBGPGrace
        settings.policy.peerGrace = configuration.repairPeerGrace
        settings.policy.cooldown = configuration.repairCooldown
        settings.policy.cooldownMax = configuration.repairCooldownMax
        settings.policy.maxActions = configuration.repairMaxActions
        settings.policy.window = configuration.repairWindow
        settings.policy.canRestartTincd = configuration.repairTincdRestartCommand != nil
        // The unrestricted BIRD session exists only when repairs can use it.
        var repairBIRD: BIRDClient?
        if configuration.repairMode != .off, configuration.collectors["bird"] == true {
            var birdLogger = logger
            birdLogger[metadataKey: "component"] = "repair"
            repairBIRD = BIRDClient(configuration: .init(socketPath: configuration.birdSocket, restricted: false,
                                                         timeout: configuration.birdCommandTimeout), logger: birdLogger)
        }
        let bird = birdCollector
        let repair = RepairController(
            settings: settings,
            sources: MeshStateSources(registry: registrySync, tinc: tincDumps, tincMaxAge: configuration.tincMinDumpInterval * 4,
                                      probes: probeHistory, bgp: sessionHistory, bird: { bird?.lastSnapshot }),
            executor: RepairExecutor(registry: registrySync, reloader: tincClient.map { TincReloader(daemon: $0) }, bird: repairBIRD,
                                     restartCommand: configuration.repairTincdRestartCommand),
            logger: logger)
        loops.append { await repair.run() }
        collectors.append(RepairCollector(metrics: repair.metrics))
        return Parts(collectors: collectors, loops: loops, repair: repair)
    }

    /// Checks what only the agent can check before it starts (files the settings name,
    /// etcd endpoints), so a bad setting is one clear line at start, not a silent gap later.
    public static func validate(_ configuration: AgentConfiguration) throws {
        if let path = configuration.webhookTokenFile { _ = try WebhookToken.load(path: path) }
        if !configuration.etcdEndpoints.isEmpty {
            let etcd = try etcdConfiguration(configuration)
            let client = try EtcdClient(configuration: etcd)
            client.shutdown()
        }
    }

    /// The etcd client's settings; the password comes from its file.
    static func etcdConfiguration(_ c: AgentConfiguration) throws -> EtcdClient.Configuration {
        var credentials: EtcdClient.Credentials?
        if let user = c.etcdUsername {
            guard let file = c.etcdPasswordFile else { throw ConfigError.inconsistent("etcd.username needs etcd.password-file") }
            let bytes: [UInt8]
            do {
                bytes = try RegularFile.read(file, limit: 16 << 20)
            } catch {
                throw ConfigError.inconsistent("cannot read etcd.password-file \(file): \(error.reason)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ConfigError.inconsistent("cannot read etcd.password-file \(file): not UTF-8 text")
            }
            let password = text.trimmingNewlines()
            credentials = EtcdClient.Credentials(username: user, password: password)
        }
        let tls = (c.etcdCAFile ?? c.etcdCertFile ?? c.etcdKeyFile) == nil ? nil
            : EtcdClient.TLS(caFile: c.etcdCAFile, certFile: c.etcdCertFile, keyFile: c.etcdKeyFile)
        var configuration = EtcdClient.Configuration(endpoints: c.etcdEndpoints)
        configuration.tls = tls
        configuration.credentials = credentials
        configuration.requestTimeout = c.etcdTimeout
        return configuration
    }

    /// With a repair service (the agent's own repair loop, or `repairService` in tests), the
    /// JSON API (`APIRoutes`) is served too; `nodeName` tells the
    /// webhook which alerts are this node's (default: tinc.conf's Name, read per request).
    public init(configuration: AgentConfiguration, logger: Logger, collectors: [any Collector]? = nil,
                repairService: (any RepairService)? = nil, nodeName: (@Sendable () -> String?)? = nil) {
        self.configuration = configuration
        self.logger = logger
        let made = collectors.map { Parts(collectors: $0, loops: [], repair: nil) } ?? Self.makeCollectors(for: configuration, logger: logger)
        self.loops = made.loops
        self.repair = made.repair
        // The agent's own repair loop serves the API unless a test brings its own service.
        let repairService: (any RepairService)? = repairService ?? made.repair
        let set = CollectorSet(collectors: made.collectors, timeout: configuration.collectorTimeout, logger: logger)
        self.collectors = set
        let metrics = HTTPRequestMetrics(routes: repairService == nil ? Self.routePaths : Self.routePaths.union(APIRoutes.paths))
        self.httpMetrics = metrics
        let webhookMetrics = repairService.map { _ in WebhookMetrics() }
        self.webhookMetrics = webhookMetrics

        var serverConfig = HTTPServerConfiguration(listenAddresses: configuration.listenAddresses)
        serverConfig.maxConnections = configuration.maxConnections
        serverConfig.readTimeout = configuration.readTimeout
        serverConfig.idleTimeout = configuration.idleTimeout
        serverConfig.maxBodyBytes = configuration.maxRequestBodyBytes

        var router = HTTPRouter()
        let pages = AgentPages(collectors: set, httpMetrics: metrics, webhookMetrics: webhookMetrics)
        if let repairService, let webhookMetrics {
            var token: WebhookToken?
            if let path = configuration.webhookTokenFile {
                // `validate` refuses a bad file at start; if it went bad since, the endpoints answer 503.
                do { token = try WebhookToken.load(path: path) } catch {
                    logger.error("webhook token unusable; /api/v1/alerts and /api/v1/repair answer 503", metadata: ["error": "\(error)"])
                }
            }
            let tincDirectory = configuration.tincDir ?? "/etc/tinc/\(configuration.tincNet)"
            let name = nodeName ?? { try? TincConfigDirectory(path: tincDirectory).serverConfig().name }
            APIRoutes.register(into: &router, service: repairService, nodeName: name, token: token, metrics: webhookMetrics, logger: logger)
        }
        router.add(["GET"], "/metrics") { await pages.metrics($0) }
        // These only read memory (the landing page is cached per collection), so they are
        // answered on the event loop without a thread hop.
        router.addImmediate(["GET"], "/") { pages.landing($0) }
        router.addImmediate(["GET"], "/healthz") { _ in .text(200, "ok\n") }
        router.addImmediate(["GET"], "/readyz") { _ in pages.readiness() }

        var serverLogger = logger
        serverLogger[metadataKey: "component"] = "http"
        self.server = HTTPServer(configuration: serverConfig, logger: serverLogger,
                                 observer: { metrics.record($0) }, immediate: router.immediateHandler,
                                 handler: router.handler)
    }

    /// Binds every listen address (all or nothing) and starts a first collection
    /// in the background, so `/readyz` turns ready without waiting for a scrape.
    public func start() throws(AgentError) {
        do {
            try server.start()
        } catch {
            throw .server(error)
        }
        logger.info("listening", metadata: ["addresses": "\(server.boundAddresses.joined(separator: ","))",
                                            "collectors": "\(collectors.collectors.map(\.name).joined(separator: ","))",
                                            "version": "\(BuildInfo.version)"])
        let set = collectors
        Task { _ = await set.collect() }
        startLoops()
    }

    /// Starts the samplers without the server (for `scrape-once` they stay off).
    func startLoops() {
        running.withLock { tasks in
            guard tasks.isEmpty else { return }
            tasks = loops.map { loop in Task { await loop() } }
        }
    }

    public var boundAddresses: [String] { server.boundAddresses }

    /// Stops accepting, lets in-flight requests finish within `gracePeriod`, then returns.
    public func shutdown(gracePeriod: Duration) async {
        logger.info("shutting down", metadata: ["grace": "\(DurationSyntax.format(gracePeriod))"])
        await server.shutdown(gracePeriod: gracePeriod)
        let tasks = running.withLock { $0 }
        for task in tasks { task.cancel() }
        // The loops stop at once when cancelled; the registry then revokes its alive lease, so
        // the other nodes see this one leave now rather than when the lease runs out.
        _ = await withDeadline(.seconds(3)) {
            for task in tasks { await task.value }
        }
    }

    /// One collection plus the agent's own families, as `scrape-once` and `/metrics` see it.
    public func gather() async -> [MetricFamily] {
        await AgentPages(collectors: collectors, httpMetrics: httpMetrics, webhookMetrics: webhookMetrics).gather()
    }
}
