import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// What the BGP session sampler has learned over time: flaps, when each session
/// last became Established, and convergence times. The state machine is
/// driven by `observe` calls with explicit times, so tests need no clock.
public final class BGPSessionHistory: Sendable {
    public struct Session: Sendable, Equatable {
        public var state: BIRDBGPState
        public var flaps: UInt64 = 0
        public var establishedAt: Date?
        public var lastConvergence: Double?
        var converging: Convergence?
    }

    struct Convergence: Sendable, Equatable {
        var start: Date
        var lastCount: Int?
        var lastChange: Date
        var stablePolls = 0
    }

    public struct Snapshot: Sendable {
        public var sessions: [String: Session]
        public var convergence: HistogramValue
        public var polls: UInt64
        public var pollErrors: UInt64
    }

    private struct State {
        var sessions: [String: Session] = [:]
        var polls: UInt64 = 0
        var pollErrors: UInt64 = 0
    }

    private let state = Mutex(State())
    private let histogram: HistogramAccumulator
    /// Polls with an unchanged imported route count that count as converged.
    public let stablePolls: Int

    public init(stablePolls: Int = 3,
                bounds: [Double] = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]) {
        self.stablePolls = max(1, stablePolls)
        self.histogram = HistogramAccumulator(bounds: bounds)
    }

    /// One poll of `show protocols`: the BGP state of every session, and BIRD's
    /// `since` for it. Sessions that no longer exist are forgotten.
    public func observe(_ sessions: [(name: String, state: BIRDBGPState, since: Date?)], at now: Date) {
        state.withLock { s in
            s.polls += 1
            var seen = Set<String>()
            for (name, current, since) in sessions {
                seen.insert(name)
                guard var session = s.sessions[name] else {
                    // First sight: the start of a session already up is unknown, so no convergence is measured.
                    s.sessions[name] = Session(state: current, establishedAt: current == .established ? since : nil)
                    continue
                }
                if session.state == .established && current != .established {
                    session.flaps += 1
                    session.converging = nil
                } else if session.state != .established && current == .established {
                    let start = since ?? now
                    session.establishedAt = start
                    session.converging = Convergence(start: start, lastChange: now)
                }
                session.state = current
                s.sessions[name] = session
            }
            for name in s.sessions.keys where !seen.contains(name) { s.sessions[name] = nil }
        }
    }

    /// A failed poll.
    public func observeError() {
        state.withLock { $0.pollErrors += 1 }
    }

    /// Sessions whose convergence is being timed and that need their route count polled.
    public var converging: [String] {
        state.withLock { s in s.sessions.filter { $0.value.converging != nil }.map(\.key).sorted() }
    }

    /// The imported route count of a converging session at `now`. When it has not
    /// changed for `stablePolls` polls, the session converged when it last changed.
    public func observeRoutes(_ name: String, imported: Int, at now: Date) {
        let finished: Double? = state.withLock { s in
            guard var session = s.sessions[name], var c = session.converging else { return nil }
            defer { s.sessions[name] = session }
            if c.lastCount == imported {
                c.stablePolls += 1
                if c.stablePolls >= stablePolls {
                    let seconds = max(0, c.lastChange.timeIntervalSince(c.start))
                    session.lastConvergence = seconds
                    session.converging = nil
                    return seconds
                }
            } else {
                c.lastCount = imported
                c.lastChange = now
                c.stablePolls = 0
            }
            session.converging = c
            return nil
        }
        if let finished { histogram.observe(finished) }
    }

    public func snapshot() -> Snapshot {
        let (sessions, polls, errors) = state.withLock { ($0.sessions, $0.polls, $0.pollErrors) }
        return Snapshot(sessions: sessions, convergence: histogram.snapshot(), polls: polls, pollErrors: errors)
    }
}
