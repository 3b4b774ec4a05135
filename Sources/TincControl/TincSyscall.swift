import Glibc

/// The wall clock and a plain sleep for the tinc 1.0 client (the rest is in POSIXSupport).
enum TincSyscall {
    /// Wall-clock seconds since 1970.
    static func unixTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

extension Duration {
    /// Whole milliseconds, clamped to 0...Int32.max.
    var tincMilliseconds: Int {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        if seconds > 2_000_000 { return Int(Int32.max) }
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
