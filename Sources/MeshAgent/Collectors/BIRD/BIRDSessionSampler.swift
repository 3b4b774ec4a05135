import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// The background loop behind flaps and convergence: it polls `show protocols`
/// on its own restricted connection, so a scrape never waits for it. It also
/// refreshes the route counts every `routeCountInterval`.
public final class BIRDSessionSampler: Sendable {
    let client: BIRDClient
    public let history: BGPSessionHistory
    let interval: Duration
    let routeCounts: BIRDRouteCountCache?
    let routeCountInterval: Duration
    let logger: Logger

    public init(client: BIRDClient, history: BGPSessionHistory, interval: Duration,
                routeCounts: BIRDRouteCountCache? = nil, routeCountInterval: Duration = .seconds(10), logger: Logger) {
        self.client = client
        self.history = history
        self.interval = interval
        self.routeCounts = routeCounts
        self.routeCountInterval = routeCountInterval
        self.logger = logger
    }

    /// Polls until the task is cancelled.
    public func run() async {
        var failing = false
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await poll()
                if failing { logger.info("BIRD sampler recovered") }
                failing = false
            } catch {
                history.observeError()
                // One line when it starts failing, not one per second.
                if !failing { logger.warning("BIRD sampler poll failed", metadata: ["error": "\(error)"]) }
                failing = true
            }
            let next = started + interval
            try? await Task.sleep(until: next, clock: .continuous)
        }
        client.close()
    }

    /// One poll: states of every BGP session, then the route counts of those converging,
    /// and the table counts when they are due.
    public func poll() async throws {
        try await pollSessions()
        if let routeCounts {
            let due = routeCounts.value.map { Date().timeIntervalSince($0.at) >= routeCountInterval.seconds } ?? true
            if due { routeCounts.store(try await client.routeCount(allTables: true), at: Date()) }
        }
    }

    func pollSessions() async throws {
        let list = try await client.protocols(all: false)
        let now = Date()
        history.observe(list.protocols.filter { $0.kind == .bgp }.map { ($0.name, Self.bgpState(of: $0), $0.since) }, at: now)
        for name in history.converging {
            let detail = try await client.protocols(all: true, matching: name)
            guard let p = detail[name] else { continue }
            let imported = p.channels.reduce(0) { $0 + ($1.routes?.imported ?? 0) }
            history.observeRoutes(name, imported: imported, at: Date())
        }
    }

    /// The BGP state of a protocol from the short listing: the first word of
    /// its Info column (`Established`, `Active`, …), or Down when the protocol is down.
    static func bgpState(of p: BIRDProtocol) -> BIRDBGPState {
        if let bgp = p.bgp { return bgp.state }
        if p.state == .down { return .down }
        let word = p.info.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        return word.isEmpty ? .down : BIRDBGPState(text: word)
    }
}
