import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// The `bird` collector: reads BIRD's control socket over a restricted session
/// and exports `bird_*`. A dead or hung BIRD gives `bird_up 0`, never a failed scrape.
public final class BIRDCollector: Collector {
    public let name = "bird"
    let client: BIRDClient
    let history: BGPSessionHistory?
    let routeCounts: BIRDRouteCountCache?
    let compat: Bool
    let logger: Logger
    private let errors = Mutex<[String: UInt64]>([:])
    private let last = Mutex<BIRDSnapshot?>(nil)

    /// With `routeCounts`, table counts come from the sampler's cache once it has one.
    public init(client: BIRDClient, history: BGPSessionHistory?, routeCounts: BIRDRouteCountCache? = nil,
                compat: Bool, logger: Logger) {
        self.client = client
        self.history = history
        self.routeCounts = routeCounts
        self.compat = compat
        var logger = logger
        logger[metadataKey: "collector"] = "bird"
        self.logger = logger
    }

    /// The most recent snapshot, for the health model and the status API.
    public var lastSnapshot: BIRDSnapshot? { last.withLock { $0 } }

    public func collect() async throws -> [MetricFamily] {
        let snapshot = await read()
        last.withLock { $0 = snapshot }
        var families = BIRDMetrics.families(snapshot, history: history?.snapshot())
        if compat { families += BIRDCompatMetrics.families(snapshot) }
        let counts = errors.withLock { $0 }
        families.append(.counter("bgpmesh_collector_errors_total",
                                 help: "Failed daemon commands by collector and kind (connect, timeout, closed, parse, daemon, io).",
                                 counts.map { Metric([Label("collector", "bird"), Label("kind", $0.key)], Double($0.value)) }))
        return families
    }

    /// Runs each command in turn. A broken connection (connect, timeout, EOF)
    /// ends the collection; a parse or daemon error skips only that part.
    func read() async -> BIRDSnapshot {
        var snapshot = BIRDSnapshot(collectedAt: Date())
        func attempt<T>(_ command: String, _ body: () async throws(BIRDControlError) -> T) async -> (T?, stop: Bool) {
            do {
                return (try await body(), false)
            } catch {
                let failure = BIRDCollectionError(error, command: command)
                snapshot.errors.append(failure)
                errors.withLock { $0[failure.kind, default: 0] += 1 }
                logger.debug("BIRD command failed", metadata: ["command": "\(command)", "error": "\(failure.message)"])
                return (nil, ["connect", "timeout", "closed", "io"].contains(failure.kind))
            }
        }
        let (status, stop) = await attempt("show status") { () async throws(BIRDControlError) in try await client.status() }
        snapshot.status = status
        if stop { return snapshot }
        let (protocols, stop2) = await attempt("show protocols all") { () async throws(BIRDControlError) in try await client.protocols(all: true) }
        snapshot.protocols = protocols
        if stop2 { return snapshot }
        if let cached = routeCounts?.value {
            snapshot.routeCount = cached.counts
            snapshot.routeCountAge = max(0, snapshot.collectedAt.timeIntervalSince(cached.at))
        } else {
            let (counts, stop3) = await attempt("show route count") { () async throws(BIRDControlError) in try await client.routeCount(allTables: true) }
            snapshot.routeCount = counts
            if let counts { routeCounts?.store(counts, at: Date()) }
            if stop3 { return snapshot }
        }
        let (memory, stop4) = await attempt("show memory") { () async throws(BIRDControlError) in try await client.memory() }
        snapshot.memory = memory
        if stop4 { return snapshot }
        let (bfd, _) = await attempt("show bfd sessions") { () async throws(BIRDControlError) in try await client.bfdSessions() }
        snapshot.bfd = bfd
        return snapshot
    }
}
