import Dispatch
import Exposition
import Logging
import Synchronization

/// Probes every target each `interval`, all at once, on its own queue: a
/// scrape never waits for a probe. Targets come from a provider that the agent
/// wires to `ProbeTargets` (the registry, else BIRD's BGP neighbors and tinc's host files).
public final class ProbeSampler: Sendable {
    let history: ProbeHistory
    let interval: Duration
    let timeout: Duration
    let targets: @Sendable () async -> [ProbeTarget]
    let logger: Logger
    private let pinger = ICMPPinger()
    private let queue = DispatchQueue(label: "bgpmesh.probes")
    private let methodUsed = Mutex<ProbeMethod?>(nil)

    public init(history: ProbeHistory, interval: Duration, timeout: Duration, logger: Logger,
                targets: @escaping @Sendable () async -> [ProbeTarget]) {
        self.history = history
        self.interval = interval
        self.timeout = timeout
        self.targets = targets
        self.logger = logger
    }

    public var method: ProbeMethod? { methodUsed.withLock { $0 } }

    public func run(clock: AgentClock = .system) async {
        await clock.repeatEvery(interval) { await round() }
    }

    /// One round over the current targets.
    public func round() async {
        let current = await targets()
        let (outcomes, method, reason) = await withCheckedContinuation { continuation in
            queue.async { [pinger, timeout] in
                let outcomes = pinger.round(current, timeout: timeout)
                continuation.resume(returning: (outcomes, pinger.method, pinger.fallbackReason))
            }
        }
        let first = methodUsed.withLock { old -> Bool in
            defer { old = method }
            return old == nil && method != nil
        }
        if first, let method {
            if let reason {
                logger.warning("ICMP probes unavailable, probing TCP port 179 instead", metadata: ["reason": "\(reason)"])
            } else {
                logger.info("probing peers", metadata: ["method": "\(method.rawValue)", "targets": "\(current.count)"])
            }
        }
        history.record(outcomes)
    }
}

/// The `probe` collector: RTT and loss to every peer's overlay address.
public struct ProbeCollector: Collector {
    public let name = "probe"
    let sampler: ProbeSampler

    public init(sampler: ProbeSampler) {
        self.sampler = sampler
    }

    public func collect() async throws -> [MetricFamily] {
        sampler.history.families(method: sampler.method)
    }
}
