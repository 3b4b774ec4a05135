#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What FileHandle, FileManager and String(contentsOfFile:) did for the agent, through POSIX,
// so the binary links FoundationEssentials only.

/// Small files and standard streams through POSIX calls.
public enum PlainFile {
    /// Why a file could not be read: the system's own wording (`No such file or directory`),
    /// or `not UTF-8 text`.
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String

        init(errno code: Int32) {
            description = strerror(code).map { String(cString: $0) } ?? "errno \(code)"
        }

        init(_ description: String) {
            self.description = description
        }
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

    /// The whole file as text; a file that is not UTF-8 is refused.
    public static func text(_ path: String) throws(ReadError) -> String {
        guard let text = String(validating: try read(path), as: UTF8.self) else { throw ReadError("not UTF-8 text") }
        return text
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
