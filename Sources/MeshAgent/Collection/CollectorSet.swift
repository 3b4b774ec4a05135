import Exposition
import Logging
import Synchronization

/// The outcome of one collector within one collection.
public struct CollectorReport: Sendable, Equatable {
    public var name: String
    public var success: Bool
    public var duration: Duration
    /// Why it failed, for logs and the status page.
    public var error: String?
}

/// One complete collection: every family from every collector, plus the reports.
public struct Collection: Sendable {
    public var families: [MetricFamily]
    public var reports: [CollectorReport]
}

/// Runs the enabled collectors concurrently, each under its own deadline, and
/// shares one collection between scrapes that arrive while it runs (single-flight).
public final class CollectorSet: Sendable {
    public let collectors: [any Collector]
    private let timeout: Duration
    private let logger: Logger
    private let clock = ContinuousClock()

    private struct State {
        var inFlight: Task<Collection, Never>?
        var completed: Set<String> = []
        var lastReports: [String: CollectorReport] = [:]
        var collections = 0
    }
    private let state = Mutex(State())

    public init(collectors: [any Collector], timeout: Duration, logger: Logger) {
        self.collectors = collectors.sorted { $0.name < $1.name }
        self.timeout = timeout
        self.logger = logger
    }

    /// Collects, or joins the collection already running.
    public func collect() async -> Collection {
        let task: Task<Collection, Never> = state.withLock { state in
            if let running = state.inFlight { return running }
            let task = Task { await self.runCollection() }
            state.inFlight = task
            return task
        }
        return await task.value
    }

    /// True once every collector has completed (successfully or not) at least once.
    public var isReady: Bool {
        state.withLock { s in collectors.allSatisfy { s.completed.contains($0.name) } }
    }

    /// The last report of each collector, sorted by name.
    public var lastReports: [CollectorReport] {
        state.withLock { s in s.lastReports.values.sorted { $0.name < $1.name } }
    }

    /// How many collections actually ran (joined scrapes do not count).
    public var collectionsRun: Int { state.withLock { $0.collections } }

    private func runCollection() async -> Collection {
        let results = await withTaskGroup(of: ([MetricFamily], CollectorReport).self) { group in
            for collector in collectors {
                group.addTask { await self.run(collector) }
            }
            var all: [([MetricFamily], CollectorReport)] = []
            for await result in group { all.append(result) }
            return all
        }
        let reports = results.map(\.1).sorted { $0.name < $1.name }
        var families = results.flatMap(\.0)
        families.append(.gauge(
            "bgpmesh_scrape_collector_success",
            help: "Whether the collector succeeded in this scrape (1) or failed or timed out (0).",
            reports.map { Metric([Label("collector", $0.name)], $0.success ? 1 : 0) }))
        families.append(.gauge(
            "bgpmesh_scrape_collector_duration_seconds",
            help: "Time the collector took in this scrape.",
            reports.map { Metric([Label("collector", $0.name)], $0.duration.seconds) }))
        state.withLock { state in
            state.inFlight = nil
            state.collections += 1
            for report in reports {
                state.completed.insert(report.name)
                state.lastReports[report.name] = report
            }
        }
        return Collection(families: families, reports: reports)
    }

    private func run(_ collector: any Collector) async -> ([MetricFamily], CollectorReport) {
        let start = clock.now
        let outcome = await withDeadline(timeout) { try await collector.collect() }
        let duration = clock.now - start
        var log = logger
        log[metadataKey: "collector"] = "\(collector.name)"
        switch outcome {
        case let .finished(.success(families)):
            return (families, CollectorReport(name: collector.name, success: true, duration: duration, error: nil))
        case let .finished(.failure(error)):
            log.warning("collector failed", metadata: ["error": "\(error)"])
            return ([], CollectorReport(name: collector.name, success: false, duration: duration, error: "\(error)"))
        case .timedOut:
            let message = "timed out after \(DurationSyntax.format(timeout))"
            log.warning("collector timed out", metadata: ["timeout": "\(DurationSyntax.format(timeout))"])
            return ([], CollectorReport(name: collector.name, success: false, duration: duration, error: message))
        }
    }
}

extension Duration {
    /// The duration as floating-point seconds, for metrics.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
