import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `bird` collector: encodes what the `BIRDSampler` holds as `bird_*`; a scrape never
/// talks to BIRD. A dead BIRD gives `bird_up 0` at the next scrape (its process is checked), a
/// hung one once a poll timed out, never a failed scrape; before the sampler's first poll the collector fails.
public struct BIRDCollector: Collector {
    public let name = "bird"
    let sampler: BIRDSampler
    let compat: Bool
    let clock: AgentClock
    /// The registry's nodes, for the `peer` label (nil: only `bgpmesh_<peer>` protocols get one).
    let peers: BIRDPeerDirectory?

    public init(sampler: BIRDSampler, compat: Bool, clock: AgentClock = .system, peers: BIRDPeerDirectory? = nil) {
        self.sampler = sampler
        self.compat = compat
        self.clock = clock
        self.peers = peers
    }

    /// The kinds `BIRDCollectionError` sorts failed BIRD commands into.
    static let errorLabels = CounterLabels([("collector", ["bird"]), ("kind", ["connect", "timeout", "closed", "parse", "daemon", "io"])])

    public func collect() async throws -> [MetricFamily] {
        guard var snapshot = sampler.snapshot else { throw BIRDSamplerError.noPollYet }
        // bird_up follows the process at every scrape: a BIRD that died since the last poll is down now.
        if snapshot.isUp, sampler.processRunning == false { snapshot.status = nil }
        let names = peers?.names() ?? BIRDPeerNames()
        var families = BIRDMetrics.families(snapshot, history: sampler.history.snapshot(), peers: names)
        if compat { families += BIRDCompatMetrics.families(snapshot) }
        let counts = sampler.errorCounts
        families.append(Self.errorLabels.family("bgpmesh_collector_errors_total",
                                                help: "Failed daemon commands by collector and kind (connect, timeout, closed, parse, daemon, io).",
                                                counts: Dictionary(uniqueKeysWithValues: counts.map { (["bird", $0.key], $0.value) })))
        families.append(.gauge("bgpmesh_bird_snapshot_age_seconds",
                               help: "Seconds since the sampler's last detailed read of BIRD, which this scrape shows.",
                               [Metric([], snapshot.age(at: clock.date()))]))
        families.append(sampler.costFamily)
        return families
    }
}

/// Why the `bird` collector has nothing to show.
public enum BIRDSamplerError: Error, CustomStringConvertible {
    case noPollYet

    public var description: String { "the BIRD sampler has not polled BIRD yet" }
}
