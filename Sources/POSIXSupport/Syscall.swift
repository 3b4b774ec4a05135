import Glibc

/// Small helpers around raw system calls, shared by the leaf targets that do I/O.
public enum Syscall {
    /// Repeats `body` while it fails with EINTR. Never wrap close(2) in this: Linux releases the
    /// descriptor even when close is interrupted, and a retry could close a reused number.
    @inline(__always)
    public static func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    /// strerror(3): `No such file or directory`.
    public static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// The errno with the call that set it: `No such file or directory (open, errno 2)`.
    public static func errorText(_ code: Int32, call: String) -> String {
        "\(errorText(code)) (\(call), errno \(code))"
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0...UInt64.max / 4 so deadlines never overflow.
    public var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        if seconds >= 1_000_000_000 { return UInt64.max / 4 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
