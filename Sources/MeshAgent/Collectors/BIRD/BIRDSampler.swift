import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// Owns the BIRD state on its own clock, so nothing depends on Prometheus scraping: a short
/// `show protocols` every `interval` (flaps, convergence, BIRD alive), and the detailed read
/// (`show status`, `show protocols all`, route counts, memory, BFD) every `detailInterval`
/// and at once when the short poll sees a protocol change state or BIRD come back. The
/// collector, the registry, the probes and the health model read `snapshot`.
public final class BIRDSampler: Sendable {
    public struct Settings: Sendable {
        /// The short poll.
        public var interval: Duration = .seconds(1)
        /// The detailed read, when nothing changed.
        public var detailInterval: Duration = .seconds(5)
        /// Route counts walk every route: refreshed by the first detailed read this long after the last.
        public var routeCountInterval: Duration = .seconds(10)

        public init(interval: Duration = .seconds(1), detailInterval: Duration = .seconds(5), routeCountInterval: Duration = .seconds(10)) {
            self.interval = interval
            self.detailInterval = detailInterval
            self.routeCountInterval = routeCountInterval
        }
    }

    /// Which read a poll cost belongs to: the `poll` label.
    enum Read: String, CaseIterable { case short, detail }

    struct State {
        var snapshot: BIRDSnapshot?
        var detailAt: ContinuousClock.Instant?
        var routeCount: (counts: BIRDRouteCount, at: Date, instant: ContinuousClock.Instant)?
        /// Each protocol's state as the last short poll saw it.
        var states: [String: String]?
        var errors: [String: UInt64] = [:]
        /// The last failed command, for the log line when polls start failing.
        var lastFailure: String?
        /// A short poll timed out since the last good one: BIRD accepted but did not answer.
        var timedOutSinceSuccess = false
    }

    let client: BIRDClient
    public let history: BGPSessionHistory
    /// Finds the BIRD process behind the socket; nil: liveness from the polls alone.
    public let process: BIRDProcessLocator?
    public let settings: Settings
    let clock: AgentClock
    let logger: Logger
    private let state = Mutex(State())
    /// Fires when the first poll is done (whatever its outcome).
    public let firstPoll = OnceSignal()
    private let costs: [Read: HistogramAccumulator] = Dictionary(uniqueKeysWithValues: Read.allCases.map {
        ($0, HistogramAccumulator(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]))
    })

    public init(client: BIRDClient, history: BGPSessionHistory, settings: Settings = Settings(), clock: AgentClock = .system,
                process: BIRDProcessLocator? = nil, logger: Logger) {
        self.client = client
        self.process = process
        self.history = history
        self.settings = settings
        self.clock = clock
        var logger = logger
        logger[metadataKey: "collector"] = "bird"
        self.logger = logger
    }

    /// The last detailed read (nil before the first poll). After a failed short poll that lost
    /// the connection, a snapshot without status: BIRD is down.
    public var snapshot: BIRDSnapshot? { state.withLock { $0.snapshot } }

    /// BIRD runs (its process serves our socket) but a short poll timed out since the last good
    /// one, within collector.bird.timeout: hung or stopped. False without a process locator.
    public var hung: Bool {
        guard let process, state.withLock({ $0.timedOutSinceSuccess }) else { return false }
        return process.locate() != nil
    }

    /// Whether BIRD's process runs now (nil without a locator, or before one was ever found).
    public var processRunning: Bool? { process?.running() }

    /// Failed commands by kind, for `bgpmesh_collector_errors_total`.
    var errorCounts: [String: UInt64] { state.withLock { $0.errors } }

    /// Polls until the task is cancelled.
    public func run() async {
        var failing = false
        await clock.repeatEvery(settings.interval) {
            let ok = await poll()
            if ok && failing { logger.info("BIRD sampler recovered") }
            // One line when it starts failing, not one per poll.
            if !ok && !failing {
                logger.warning("BIRD sampler poll failed", metadata: ["error": "\(state.withLock { $0.lastFailure } ?? "unknown")"])
            }
            failing = !ok
        }
        client.close()
    }

    /// One poll: the short listing, the detailed read when due (or `detailed`), then the route
    /// counts of converging sessions. False when the short poll failed.
    @discardableResult
    public func poll(detailed: Bool = false) async -> Bool {
        defer { firstPoll.fire() }
        let now = clock.now(), date = clock.date()
        let list: BIRDProtocolList
        do {
            list = try await measured(.short) { () async throws(BIRDControlError) in try await client.protocols(all: false) }
        } catch {
            history.observeError()
            let failure = record(error, command: "show protocols")
            // A lost connection means BIRD is down now; a bad reply keeps the last good read
            // (its age shows), unless there is none.
            state.withLock { s in
                if failure.kind == "timeout" { s.timedOutSinceSuccess = true }
                guard failure.endsConnection || s.snapshot == nil else { return }
                s.snapshot = BIRDSnapshot(errors: [failure], collectedAt: date)
                s.states = nil
            }
            return false
        }
        state.withLock { $0.timedOutSinceSuccess = false }
        let bgp = list.protocols.filter { $0.kind == .bgp }
        history.observe(bgp.map { ($0.name, Self.bgpState(of: $0), $0.since) }, at: date)
        let states = Dictionary(list.protocols.map { ($0.name, "\($0.state) \(Self.bgpState(of: $0).text)") }, uniquingKeysWith: { a, _ in a })
        let due = state.withLock { s -> Bool in
            defer { s.states = states }
            guard let snapshot = s.snapshot, snapshot.isUp, let at = s.detailAt else { return true }
            return detailed || s.states != states || now - at >= settings.detailInterval
        }
        var detail: BIRDProtocolList?
        if due {
            let snapshot = await readDetail(now: now, date: date)
            detail = snapshot.protocols
            state.withLock { s in
                s.snapshot = snapshot
                s.detailAt = now
            }
        }
        for name in history.converging {
            var p = detail?[name]
            if p == nil {
                do {
                    p = try await client.protocols(all: true, matching: name)[name]
                } catch {
                    // Counted like every failed command; the session's convergence waits for the next poll.
                    _ = record(error, command: "show protocols all \(name)")
                }
            }
            guard let p else { continue }
            history.observeRoutes(name, imported: p.channels.reduce(0) { $0 + ($1.routes?.imported ?? 0) }, at: clock.date())
        }
        return true
    }

    /// Runs each command in turn. A broken connection (connect, timeout, EOF) ends the read;
    /// a parse or daemon error skips only that part.
    func readDetail(now: ContinuousClock.Instant, date: Date) async -> BIRDSnapshot {
        var snapshot = BIRDSnapshot(collectedAt: date)
        func attempt<T>(_ command: String, _ body: () async throws(BIRDControlError) -> T) async -> (T?, stop: Bool) {
            do {
                return (try await body(), false)
            } catch {
                let failure = record(error, command: command)
                snapshot.errors.append(failure)
                return (nil, failure.endsConnection)
            }
        }
        let started = ContinuousClock.now
        defer { costs[.detail]?.observe((ContinuousClock.now - started).seconds) }
        let (status, stop) = await attempt("show status") { () async throws(BIRDControlError) in try await client.status() }
        snapshot.status = status
        if stop { return snapshot }
        let (protocols, stop2) = await attempt("show protocols all") { () async throws(BIRDControlError) in try await client.protocols(all: true) }
        snapshot.protocols = protocols
        if stop2 { return snapshot }
        let held = state.withLock { $0.routeCount }
        if let held, now - held.instant < settings.routeCountInterval {
            snapshot.routeCount = held.counts
            snapshot.routeCountAge = max(0, date.timeIntervalSince(held.at))
        } else {
            let (counts, stop3) = await attempt("show route count") { () async throws(BIRDControlError) in try await client.routeCount(allTables: true) }
            if let counts {
                snapshot.routeCount = counts
                snapshot.routeCountAge = 0
                state.withLock { $0.routeCount = (counts, date, now) }
            }
            if stop3 { return snapshot }
        }
        let (memory, stop4) = await attempt("show memory") { () async throws(BIRDControlError) in try await client.memory() }
        snapshot.memory = memory
        if stop4 { return snapshot }
        let (bfd, _) = await attempt("show bfd sessions") { () async throws(BIRDControlError) in try await client.bfdSessions() }
        snapshot.bfd = bfd
        return snapshot
    }

    private func measured<T>(_ read: Read, _ body: () async throws(BIRDControlError) -> T) async throws(BIRDControlError) -> T {
        let started = ContinuousClock.now
        defer { costs[read]?.observe((ContinuousClock.now - started).seconds) }
        return try await body()
    }

    private func record(_ error: BIRDControlError, command: String) -> BIRDCollectionError {
        let failure = BIRDCollectionError(error, command: command)
        state.withLock {
            $0.errors[failure.kind, default: 0] += 1
            $0.lastFailure = "\(command): \(failure.message)"
        }
        logger.debug("BIRD command failed", metadata: ["command": "\(command)", "error": "\(failure.message)"])
        return failure
    }

    /// What each kind of read costs BIRD and the agent: `make bench-bird` reports it next to the scrape time.
    var costFamily: MetricFamily {
        .histogram("bgpmesh_bird_sampler_poll_duration_seconds",
                   help: "Time of the sampler's reads of BIRD: short (show protocols) and detail (status, protocols all, counts, memory, BFD).",
                   Read.allCases.map { Metric([Label("poll", $0.rawValue)], histogram: costs[$0]!.snapshot()) })
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
