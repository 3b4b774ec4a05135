#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The time source of the agent's loops (samplers, repair, trackers): the continuous clock
/// and the wall clock in production; tests inject their own and advance it by hand, so they
/// never sleep to make time pass.
public struct AgentClock: Sendable {
    /// Monotonic time, for intervals and "for how long".
    public var now: @Sendable () -> ContinuousClock.Instant
    /// Wall time, for timestamps and as the reference of BIRD's `since` dates.
    public var date: @Sendable () -> Date
    /// Waits until the instant (or throws when the task is cancelled).
    public var sleep: @Sendable (ContinuousClock.Instant) async throws -> Void

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant, date: @escaping @Sendable () -> Date,
                sleep: @escaping @Sendable (ContinuousClock.Instant) async throws -> Void) {
        self.now = now
        self.date = date
        self.sleep = sleep
    }

    public static let system = AgentClock(
        now: { ContinuousClock.now }, date: { Date() },
        sleep: { try await Task.sleep(until: $0, clock: .continuous) })

    /// Waits `duration` from now (or throws when the task is cancelled).
    public func sleep(for duration: Duration) async throws {
        try await sleep(now() + duration)
    }

    /// Runs `body` every `interval` (measured from the start of each run) until the task is cancelled.
    public func repeatEvery(_ interval: Duration, isolation: isolated (any Actor)? = #isolation, _ body: () async -> Void) async {
        while !Task.isCancelled {
            let started = now()
            await body()
            // Cancelled (or a clock that cannot sleep): stop, never spin.
            do { try await sleep(started + interval) } catch { return }
        }
    }
}
