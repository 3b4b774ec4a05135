import POSIXSupport
import Glibc

/// Installs configuration files the way tinc needs them: write a temporary file in the same
/// directory, fsync it, rename it over the target, fsync the directory. A file whose content
/// would not change is left alone, because tinc 1.0 drops the connection of every host whose
/// file's mtime changed when it gets HUP (net.c, the `stat` check after reload).
public enum TincAtomicFile {
    public enum Outcome: Sendable, Equatable {
        case written
        case unchanged
    }

    /// Writes `content` to `path` atomically with `mode`; returns `.unchanged` without touching
    /// the file when it already holds exactly these bytes. With `replacing: false` a file that
    /// appears at `path` meanwhile is never replaced: the write fails with `link` and EEXIST.
    @discardableResult
    public static func write(_ content: [UInt8], to path: String, mode: mode_t = 0o644,
                             replacing: Bool = true) throws(TincFileError) -> Outcome {
        guard !path.isEmpty, !path.utf8.contains(0), !path.hasSuffix("/") else { throw .invalidName(path) }
        if let existing = try? RegularFile.read(path, limit: content.count), existing == content {
            return .unchanged
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory.isEmpty ? "" : directory)/.\(base).tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = Syscall.retryingEINTR { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw .system(path: temporary, call: "open", errno: errno) }
        let handle = FileDescriptor(fd)
        var installed = false
        defer {
            handle.close()
            if !installed { unlink(temporary) }
        }
        do {
            try Syscall.writeAll(handle.rawValue, content)
        } catch {
            throw .system(path: temporary, call: error.call, errno: error.code)
        }
        // The umask may have narrowed `mode` at open.
        guard fchmod(handle.rawValue, mode) == 0 else { throw .system(path: temporary, call: "fchmod", errno: errno) }
        guard Syscall.retryingEINTR({ fsync(handle.rawValue) }) == 0 else { throw .system(path: temporary, call: "fsync", errno: errno) }
        handle.close()
        if replacing {
            guard rename(temporary, path) == 0 else { throw .system(path: path, call: "rename", errno: errno) }
            installed = true
        } else {
            // link(2) fails with EEXIST where rename(2) would replace; the temporary name goes in the defer.
            guard link(temporary, path) == 0 else { throw .system(path: path, call: "link", errno: errno) }
        }
        let directoryFD = Syscall.retryingEINTR { open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard directoryFD >= 0 else { throw .system(path: directory, call: "open", errno: errno) }
        let directoryHandle = FileDescriptor(directoryFD)
        guard Syscall.retryingEINTR({ fsync(directoryHandle.rawValue) }) == 0 else {
            throw .system(path: directory, call: "fsync", errno: errno)
        }
        return .written
    }

    @discardableResult
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644,
                             replacing: Bool = true) throws(TincFileError) -> Outcome {
        try write(Array(text.utf8), to: path, mode: mode, replacing: replacing)
    }
}
