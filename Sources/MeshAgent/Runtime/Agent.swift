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
    private let primers: [@Sendable () async -> Void]
    private let firstPolls: [OnceSignal]
    private let running = Mutex<[Task<Void, Never>]>([])

    /// What `makeCollectors` builds.
    public struct Parts: Sendable {
        public var collectors: [any Collector]
        public var loops: [@Sendable () async -> Void]
        /// One poll of each sampler a collector encodes, for a collection without the loops (`scrape-once`).
        public var primers: [@Sendable () async -> Void] = []
        /// Fire when each of those samplers' loops has polled once: the first collection waits for them.
        public var firstPolls: [OnceSignal] = []
        /// The health model and repair loop (also behind the webhook and /api/v1/status).
        public var repair: RepairController?
        /// Key rotation (POST /api/v1/keys/rotate, `key_rotation` in /api/v1/status); with the registry only.
        public var rotation: KeyRotation?
        /// The registry's views and this node's own, for /api/v1/mesh and the map; with the registry only.
        public var mesh: MeshSource?
    }

    /// Checks what only the agent can check before it starts (files the settings name,
    /// etcd endpoints), so a bad setting is one clear line at start, not a silent gap later.
    public static func validate(_ configuration: AgentConfiguration) throws {
        if let path = configuration.webhookTokenFile { _ = try WebhookToken.load(path: path) }
        if configuration.birdPeersFile != nil, let path = configuration.birdPasswordFile {
            do {
                _ = try BGPPeersPassword.literal(path: path)
            } catch {
                throw ConfigError.inconsistent(error.description)
            }
        }
        if !configuration.etcdEndpoints.isEmpty {
            if configuration.registryEnabled && configuration.meshOverlayPrefixes.isEmpty {
                throw ConfigError.inconsistent(
                    "the registry needs mesh.overlay-prefixes (the prefixes of the tinc overlay, e.g. 198.51.100.0/24): "
                        + "records with addresses or subnets outside them are refused")
            }
            if let path = configuration.registryAdminPublicKey { _ = try loadAdminKey(path) }
            let etcd = try etcdConfiguration(configuration)
            let client = try EtcdClient(configuration: etcd)
            client.shutdown()
        }
    }

    /// The mesh admin's RSA public key (`registry.admin-public-key`): PEM, PKCS#1 or SubjectPublicKeyInfo.
    static func loadAdminKey(_ path: String) throws -> TincRSAPublicKey {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: 64 << 10)
        } catch {
            throw ConfigError.inconsistent("cannot read registry.admin-public-key \(path): \(error.reason)")
        }
        do {
            return try TincRSAPublicKey(pemText: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw ConfigError.inconsistent("registry.admin-public-key \(path) is not an RSA public key: \(error)")
        }
    }

    /// The etcd client's settings; the password comes from its file, which neither group nor
    /// others may access, and goes only to https:// endpoints unless
    /// `etcd.allow-insecure-credentials` says otherwise.
    static func etcdConfiguration(_ c: AgentConfiguration) throws -> EtcdClient.Configuration {
        let tls = (c.etcdCAFile ?? c.etcdCertFile ?? c.etcdKeyFile) == nil ? nil
            : EtcdClient.TLS(caFile: c.etcdCAFile, certFile: c.etcdCertFile, keyFile: c.etcdKeyFile)
        var configuration = EtcdClient.Configuration(endpoints: c.etcdEndpoints)
        configuration.tls = tls
        var credentials: EtcdClient.Credentials?
        if let user = c.etcdUsername {
            guard let file = c.etcdPasswordFile else { throw ConfigError.inconsistent("etcd.username needs etcd.password-file") }
            if !c.etcdAllowInsecureCredentials, let plain = try configuration.validatedEndpoints().first(where: { $0.hasPrefix("http://") }) {
                throw ConfigError.inconsistent(
                    "etcd.username is set but etcd endpoint \(plain) is plain http://: the password would cross the network in clear text; "
                        + "use https:// endpoints (etcd.ca-file), or set etcd.allow-insecure-credentials to accept that")
            }
            let bytes: [UInt8]
            do {
                bytes = try RegularFile.read(file, limit: 16 << 20, forbiddenModeBits: 0o077)
            } catch .insecureMode(_, let mode) {
                throw ConfigError.inconsistent(
                    "etcd.password-file \(file): mode \(String(mode, radix: 8)) lets group or others access the password; chmod 600 it")
            } catch {
                throw ConfigError.inconsistent("cannot read etcd.password-file \(file): \(error.reason)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ConfigError.inconsistent("cannot read etcd.password-file \(file): not UTF-8 text")
            }
            let password = text.trimmingNewlines()
            credentials = EtcdClient.Credentials(username: user, password: password)
        }
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
        self.primers = made.primers
        self.firstPolls = made.firstPolls
        self.repair = made.repair
        let rotation = made.rotation
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
        let pages = AgentPages(collectors: set, httpMetrics: metrics, webhookMetrics: webhookMetrics, repair: repairService, mesh: made.mesh)
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
            APIRoutes.register(into: &router, service: repairService, nodeName: name, token: token, metrics: webhookMetrics, logger: logger,
                               rotation: rotation)
        }
        router.add(["GET"], "/metrics") { await pages.metrics($0) }
        if repairService != nil { router.add(["GET"], APIRoutes.meshPath) { await pages.meshJSON($0) } }
        // The map asks the repair loop and the registry (actors), so it is not answered on the event loop.
        router.add(["GET"], "/") { await pages.landing($0) }
        // These only read memory, so they are answered on the event loop without a thread hop.
        router.addImmediate(["GET"], "/healthz") { _ in .text(200, "ok\n") }
        router.addImmediate(["GET"], "/readyz") { _ in pages.readiness() }

        var serverLogger = logger
        serverLogger[metadataKey: "component"] = "http"
        self.server = HTTPServer(configuration: serverConfig, logger: serverLogger,
                                 observer: { metrics.record($0) }, immediate: router.immediateHandler,
                                 handler: router.handler)
    }

    /// Binds every listen address (all or nothing), starts the loops, and runs a first collection
    /// in the background once each sampler has polled, so `/readyz` turns ready without waiting for a scrape.
    public func start() throws(AgentError) {
        do {
            try server.start()
        } catch {
            throw .server(error)
        }
        logger.info("listening", metadata: ["addresses": "\(server.boundAddresses.joined(separator: ","))",
                                            "collectors": "\(collectors.collectors.map(\.name).joined(separator: ","))",
                                            "version": "\(BuildInfo.version)"])
        let set = collectors, firstPolls = firstPolls, timeout = configuration.collectorTimeout
        startLoops()
        Task {
            // The samplers' first polls are bounded by their daemons' timeouts; this bounds the wait too.
            _ = await withDeadline(timeout) { for signal in firstPolls { await signal.wait() } }
            _ = await set.collect()
        }
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
    /// Without the loops running (`scrape-once`), each sampler polls once first.
    public func gather() async -> [MetricFamily] {
        if running.withLock({ $0.isEmpty }) {
            for prime in primers { await prime() }
        }
        return await AgentPages(collectors: collectors, httpMetrics: httpMetrics, webhookMetrics: webhookMetrics).gather()
    }
}
