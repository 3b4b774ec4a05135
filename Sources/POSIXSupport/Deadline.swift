/// A point on the monotonic clock by which an operation must be done.
public struct Deadline: Sendable {
    public let nanoseconds: UInt64

    public init(after duration: Duration) {
        nanoseconds = Syscall.monotonicNanoseconds() &+ duration.clampedNanoseconds
    }

    /// Milliseconds left for poll(2), rounded up so a wait never ends early; 0 once expired.
    public var remainingMilliseconds: Int32 {
        let now = Syscall.monotonicNanoseconds()
        guard nanoseconds > now else { return 0 }
        let milliseconds = (nanoseconds - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, UInt64(Int32.max)))
    }

    public var hasExpired: Bool { Syscall.monotonicNanoseconds() >= nanoseconds }
}
