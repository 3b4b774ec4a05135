import Exposition
import HTTPServer
import Logging

/// The running agent: collectors, the HTTP server and its routes.
public final class Agent: Sendable {
    public let configuration: AgentConfiguration
    public let collectors: CollectorSet
    let httpMetrics: HTTPRequestMetrics
    let logger: Logger
    private let server: HTTPServer

    public static let routePaths: Set<String> = ["/", "/metrics", "/healthz", "/readyz"]

    /// The collectors the configuration enables.
    public static func makeCollectors(for configuration: AgentConfiguration, logger: Logger) -> [any Collector] {
        var collectors: [any Collector] = []
        if configuration.collectors["process"] == true { collectors.append(ProcessCollector()) }
        return collectors
    }

    public init(configuration: AgentConfiguration, logger: Logger, collectors: [any Collector]? = nil) {
        self.configuration = configuration
        self.logger = logger
        let set = CollectorSet(collectors: collectors ?? Self.makeCollectors(for: configuration, logger: logger),
                               timeout: configuration.collectorTimeout, logger: logger)
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
        router.add(["GET"], "/") { pages.landing($0) }
        router.add(["GET"], "/healthz") { _ in .text(200, "ok\n") }
        router.add(["GET"], "/readyz") { _ in pages.readiness() }

        var serverLogger = logger
        serverLogger[metadataKey: "component"] = "http"
        self.server = HTTPServer(configuration: serverConfig, logger: serverLogger,
                                 observer: { metrics.record($0) }, handler: router.handler)
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
    }

    public var boundAddresses: [String] { server.boundAddresses }

    /// Stops accepting, lets in-flight requests finish within `gracePeriod`, then returns.
    public func shutdown(gracePeriod: Duration) async {
        logger.info("shutting down", metadata: ["grace": "\(DurationSyntax.format(gracePeriod))"])
        await server.shutdown(gracePeriod: gracePeriod)
    }

    /// One collection plus the agent's own families, as `scrape-once` and `/metrics` see it.
    public func gather() async -> [MetricFamily] {
        await AgentPages(collectors: collectors, httpMetrics: httpMetrics).gather()
    }
}
