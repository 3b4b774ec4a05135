import Glibc
import POSIXSupport

/// Reads a small file that must be a regular file with no forbidden mode bits: keys and trust
/// state. `RegularFile.readWithStatus` does the bounded read (a FIFO or a device is refused
/// without blocking) and hands back the fstat of the very descriptor read, so the mode check
/// applies to the file read even through a symlink.
public enum TincRegularFile {
    /// The whole file, at most `limit` bytes, refused when `mode & forbiddenModeBits != 0`.
    public static func read(_ path: String, limit: Int, forbiddenModeBits: UInt32) throws(TincFileRefusal) -> [UInt8] {
        var read: (bytes: [UInt8], status: stat)
        do {
            read = try RegularFile.readWithStatus(path, limit: limit)
        } catch {
            if case .notRegularFile = error { throw .notRegularFile(path: path) }
            throw .file(TincFileError(error))
        }
        let mode = read.status.st_mode
        guard mode & forbiddenModeBits == 0 else {
            // What was read may be a key: it does not outlive the refusal.
            for index in read.bytes.indices { read.bytes[index] = 0 }
            throw .insecureMode(path: path, mode: mode & 0o7777)
        }
        return read.bytes
    }
}
