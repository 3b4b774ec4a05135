import POSIXSupport
import Glibc

/// tinc's own I/O helpers on top of POSIXSupport.
enum TincSyscall {
    /// `Syscall.retryingEINTR`: never wrap close(2) in this.
    @inline(__always)
    static func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
        Syscall.retryingEINTR(body)
    }

    /// Reads a whole (small) file; nil and errno on failure. Stops at `limit` bytes (then `.tooLarge`).
    static func readFile(_ path: String, limit: Int) -> Result<[UInt8], TincFileError> {
        let fd = TincSyscall.retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return .failure(.system(path: path, call: "open", errno: errno)) }
        let handle = FileDescriptor(fd)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { buffer in
                TincSyscall.retryingEINTR { read(handle.rawValue, buffer.baseAddress, buffer.count) }
            }
            if n < 0 { return .failure(.system(path: path, call: "read", errno: errno)) }
            if n == 0 { break }
            out += chunk[0..<n]
            if out.count > limit { return .failure(.tooLarge(path: path, limit: limit)) }
        }
        return .success(out)
    }

    static func monotonicNanoseconds() -> UInt64 {
        Syscall.monotonicNanoseconds()
    }

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
