/// Exponential backoff with "equal jitter": the n-th pause in a row lies in `[step/2, step]`,
/// where `step = min(cap, base * 2^(n-1))`. The fixed half keeps a failing peer from being
/// retried in a tight loop; the random half spreads the clients that lost etcd at the same
/// moment, so a recovered etcd is not hit by all of them in the same instant. Used by the
/// client's watch reconnects and by the agent's registry loops.
public struct Backoff: Sendable, Hashable {
    /// The step of the first pause.
    public let base: Duration
    /// The largest step; a pause never exceeds it.
    public let cap: Duration
    /// Pauses handed out since the last `reset()`.
    public private(set) var attempts = 0

    /// A base below one millisecond counts as one millisecond; a cap below the base as the base.
    public init(base: Duration, cap: Duration) {
        self.base = max(base, .milliseconds(1))
        self.cap = max(cap, self.base)
    }

    /// The upper bound of the next pause.
    public var ceiling: Duration {
        .nanoseconds(stepNanoseconds(after: attempts))
    }

    /// The next pause, drawing the jitter from `random` (a seeded generator in tests).
    public mutating func next(using random: inout some RandomNumberGenerator) -> Duration {
        let step = stepNanoseconds(after: attempts)
        attempts += 1
        let fixed = step / 2
        return .nanoseconds(fixed + Int64.random(in: 0...(step - fixed), using: &random))
    }

    /// The next pause, with the system's random source.
    public mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    /// After a success: the next pause starts from `base` again.
    public mutating func reset() {
        attempts = 0
    }

    private func stepNanoseconds(after attempts: Int) -> Int64 {
        let cap = Self.nanoseconds(cap)
        var step = Self.nanoseconds(base)
        var doublings = 0
        while doublings < attempts && step < cap {
            step = step > cap / 2 ? cap : step * 2
            doublings += 1
        }
        return min(step, cap)
    }

    /// Whole nanoseconds, saturating at about 292 years.
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 else { return Int64.max / 2 }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
