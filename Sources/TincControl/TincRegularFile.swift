import Glibc
import POSIXSupport

/// Reads a small file that must be a regular file with no forbidden mode bits: keys and trust
/// state. A FIFO or a device is refused without blocking (opened with O_NONBLOCK), and a
/// symlink is followed, with the checks applied to the file actually read (fstat on the descriptor).
public enum TincRegularFile {
    /// The whole file, at most `limit` bytes, refused when `mode & forbiddenModeBits != 0`.
    public static func read(_ path: String, limit: Int, forbiddenModeBits: UInt32) throws(TincFileRefusal) -> [UInt8] {
        let fd = Syscall.retryingEINTR { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
        guard fd >= 0 else { throw .file(.system(path: path, call: "open", errno: errno)) }
        let handle = FileDescriptor(fd)
        var info = stat()
        guard fstat(handle.rawValue, &info) == 0 else { throw .file(.system(path: path, call: "fstat", errno: errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        guard info.st_mode & forbiddenModeBits == 0 else { throw .insecureMode(path: path, mode: info.st_mode & 0o7777) }
        guard Int(info.st_size) <= limit else { throw .file(.tooLarge(path: path, limit: limit)) }
        var content = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled < content.count {
            let n = content.withUnsafeMutableBytes { buffer in
                Syscall.retryingEINTR { Glibc.read(handle.rawValue, buffer.baseAddress! + filled, buffer.count - filled) }
            }
            guard n >= 0 else { throw .file(.system(path: path, call: "read", errno: errno)) }
            if n == 0 { break }
            filled += n
        }
        guard filled <= limit else { throw .file(.tooLarge(path: path, limit: limit)) }
        content.removeLast(content.count - filled)
        return content
    }
}
