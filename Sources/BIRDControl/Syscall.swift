import Glibc

/// Small helpers around raw system calls.
enum Syscall {
    /// Repeats `body` while it fails with EINTR. Never wrap close(2) in this: Linux releases the
    /// descriptor even when close is interrupted, and a retry could close a reused number.
    @inline(__always)
    static func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// A point on the monotonic clock by which a command must be done.
struct Deadline {
    let nanoseconds: UInt64

    init(after duration: Duration) {
        nanoseconds = Syscall.monotonicNanoseconds() &+ duration.clampedNanoseconds
    }

    /// Milliseconds left for poll(2), rounded up so a wait never ends early; 0 once expired.
    var remainingMilliseconds: Int32 {
        let now = Syscall.monotonicNanoseconds()
        guard nanoseconds > now else { return 0 }
        let milliseconds = (nanoseconds - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, UInt64(Int32.max)))
    }

    var hasExpired: Bool { Syscall.monotonicNanoseconds() >= nanoseconds }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0...UInt64.max / 4 so deadlines never overflow.
    var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        if seconds >= 1_000_000_000 { return UInt64.max / 4 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
