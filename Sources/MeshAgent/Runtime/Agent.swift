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
import Synchronization
import TincControl

/// The running agent: collectors, the HTTP server and its routes.
public final class Agent: Sendable {
    public let configuration: AgentConfiguration
    public let collectors: CollectorSet
    let httpMetrics: HTTPRequestMetrics
    let logger: Logger
    private let server: HTTPServer

    public static let routePaths: Set<String> = ["/", "/metrics", "/healthz", "/readyz"]

    /// Background loops (samplers) started with the server and cancelled at shutdown.
    private let loops: [@Sendable () async -> Void]
    private let running = Mutex<[Task<Void, Never>]>([])

    /// The collectors the configuration enables, and the background loops that feed them.
    public static func makeCollectors(for configuration: AgentConfiguration, logger: Logger)
        -> (collectors: [any Collector], loops: [@Sendable () async -> Void]) {
        var collectors: [any Collector] = []
        var loops: [@Sendable () async -> Void] = []
        if configuration.collectors["process"] == true { collectors.append(ProcessCollector()) }
        var birdCollector: BIRDCollector?
        var tincCollector: TincCollector?
        if configuration.collectors["bird"] == true {
            func client() -> BIRDClient {
                var birdLogger = logger
                birdLogger[metadataKey: "collector"] = "bird"
                return BIRDClient(configuration: .init(socketPath: configuration.birdSocket, restricted: true,
                                                       timeout: configuration.birdCommandTimeout), logger: birdLogger)
            }
            let history = BGPSessionHistory(stablePolls: configuration.birdConvergenceStablePolls)
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
        if configuration.collectors["tinc"] == true {
            var tincLogger = logger
            tincLogger[metadataKey: "collector"] = "tinc"
            let client = TincDaemonClient(configuration: .init(
                net: configuration.tincNet, directory: configuration.tincDir, pidfile: configuration.tincPidfile,
                logfile: configuration.tincLogfile, minimumDumpInterval: configuration.tincMinDumpInterval,
                signalLockPath: configuration.tincSignalLockFile), logger: tincLogger)
            let dumps = TincDumpState()
            let sampler = TincDumpSampler(client: client, state: dumps, interval: configuration.tincMinDumpInterval, logger: tincLogger)
            loops.append { await sampler.run() }
            let tinc = TincCollector(client: client, dumps: dumps, sampler: sampler, interface: configuration.tincInterface)
            tincCollector = tinc
            collectors.append(tinc)
        }
        if configuration.collectors["etcd"] == true, !configuration.etcdEndpoints.isEmpty {
            let requests = EtcdRequestMetrics()
            do {
                let client = try EtcdClient(configuration: try etcdConfiguration(configuration), logger: logger,
                                            observer: { requests.observe(op: $0, duration: $1, success: $2) })
                collectors.append(EtcdCollector(client: client, requests: requests))
            } catch {
                logger.error("etcd is configured but unusable; the etcd collector is off", metadata: ["error": "\(error)"])
            }
        }
        if configuration.collectors["probe"] == true {
            let rounds = Int((configuration.probeWindow.seconds / configuration.probeInterval.seconds).rounded())
            let configured = configuration.probeTargets
            let bird = birdCollector, tinc = tincCollector
            var probeLogger = logger
            probeLogger[metadataKey: "collector"] = "probe"
            let sampler = ProbeSampler(
                history: ProbeHistory(windowRounds: rounds), interval: configuration.probeInterval,
                timeout: configuration.probeTimeout, logger: probeLogger
            ) {
                ProbeTargets.gather(configured: configured, bird: bird?.lastSnapshot, tinc: tinc?.lastSnapshot)
            }
            loops.append { await sampler.run() }
            collectors.append(ProbeCollector(sampler: sampler))
        }
        return (collectors, loops)
    }

    /// Checks what only the agent can check before it starts (files the settings name,
    /// etcd endpoints), so a bad setting is one clear line at start, not a silent gap later.
    public static func validate(_ configuration: AgentConfiguration) throws {
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
            let password: String
            do {
                password = try PlainFile.text(file).trimmingNewlines()
            } catch {
                throw ConfigError.inconsistent("cannot read etcd.password-file \(file): \(error)")
            }
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

    public init(configuration: AgentConfiguration, logger: Logger, collectors: [any Collector]? = nil) {
        self.configuration = configuration
        self.logger = logger
        let made = collectors.map { ($0, [@Sendable () async -> Void]()) } ?? Self.makeCollectors(for: configuration, logger: logger)
        self.loops = made.1
        let set = CollectorSet(collectors: made.0, timeout: configuration.collectorTimeout, logger: logger)
        self.collectors = set
        let metrics = HTTPRequestMetrics(routes: Self.routePaths)
        self.httpMetrics = metrics

        var serverConfig = HTTPServerConfiguration(listenAddresses: configuration.listenAddresses)
        serverConfig.maxConnections = configuration.maxConnections
        serverConfig.readTimeout = configuration.readTimeout
        serverConfig.idleTimeout = configuration.idleTimeout
        serverConfig.maxBodyBytes = configuration.maxRequestBodyBytes

        var router = HTTPRouter()
        let pages = AgentPages(collectors: set, httpMetrics: metrics)
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
        for task in running.withLock({ $0 }) { task.cancel() }
    }

    /// One collection plus the agent's own families, as `scrape-once` and `/metrics` see it.
    public func gather() async -> [MetricFamily] {
        await AgentPages(collectors: collectors, httpMetrics: httpMetrics).gather()
    }
}
