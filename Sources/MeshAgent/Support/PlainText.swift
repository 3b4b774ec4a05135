#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What the agent used full Foundation for (trimming, `String(format:)`, reading a
// small file, FileHandle writes), done with the standard library and POSIX so
// the binary links FoundationEssentials only.

extension StringProtocol {
    /// Without leading and trailing whitespace (tabs and spaces, not line breaks).
    func trimmingSpaces() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// Without leading and trailing line breaks.
    func trimmingNewlines() -> String {
        trimming(\.isNewline)
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// Fixed-width number text, as `%0Nd` and `%.Nf` would give it.
public enum NumberText {
    /// `value` in decimal, left-padded with zeros to `width` digits (the sign, if any, comes first).
    static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value.magnitude)
        let padding = String(repeating: "0", count: max(0, width - digits.count))
        return (value < 0 ? "-" : "") + padding + digits
    }

    /// `value` in lowercase hexadecimal, left-padded with zeros to `width` digits.
    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `value` rounded to `decimals` places (half away from zero), like `%.Nf` for the values logs show.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let fraction = units % UInt64(scale)
        let sign = value < 0 && units > 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(whole) }
        return sign + String(whole) + "." + padded(Int(fraction), width: decimals)
    }
}

/// Small files and standard streams through POSIX calls.
public enum PlainFile {
    /// Why a file could not be read: the system's own wording (`No such file or directory`).
    public struct ReadError: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { strerror(errno).map { String(cString: $0) } ?? "errno \(errno)" }
    }

    /// The whole file; at most `limit` bytes are read.
    public static func read(_ path: String, limit: Int = 16 << 20) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        if bytes.count > limit { throw ReadError(errno: EFBIG) }
        return bytes
    }

    /// The whole file as text; bytes that are not UTF-8 become U+FFFD.
    public static func text(_ path: String) throws(ReadError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Writes every byte to `fd` (1 or 2), retrying on EINTR; gives up silently on other errors.
    public static func write(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
