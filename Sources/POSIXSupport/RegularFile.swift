import Glibc

/// The one way the agent reads a whole file: bounded, and only when it is a regular file.
public enum RegularFile {
    /// The bytes of `path`, at most `limit` of them. See `readWithStatus`.
    public static func read(_ path: String, limit: Int) throws(FileReadError) -> [UInt8] {
        try readWithStatus(path, limit: limit).bytes
    }

    /// The bytes of `path`, at most `limit` of them, refused with `.insecureMode` when the mode of
    /// the file read has any of `forbiddenModeBits` (0o077: group or others may access it, for
    /// keys, tokens and trust state). The check applies to the descriptor read, so a symlink is
    /// followed to the file it names. What was read is zeroed before the refusal: it may be a secret.
    public static func read(_ path: String, limit: Int, forbiddenModeBits: mode_t) throws(FileReadError) -> [UInt8] {
        var read = try readWithStatus(path, limit: limit)
        let mode = read.status.st_mode & 0o7777
        guard mode & forbiddenModeBits == 0 else {
            for index in read.bytes.indices { read.bytes[index] = 0 }
            throw .insecureMode(path: path, mode: mode)
        }
        return read.bytes
    }

    /// The bytes of `path` and the fstat(2) of the descriptor they were read through, so
    /// checks on the owner or mode apply to the very file read (a symlink is followed).
    /// The open uses O_NONBLOCK so that a FIFO without a writer (or a device) cannot block
    /// it; anything but a regular file is then refused before a byte is read. Files in /proc
    /// and /sys report a size of 0, so the read goes to end of file and stops past `limit`.
    public static func readWithStatus(_ path: String, limit: Int) throws(FileReadError) -> (bytes: [UInt8], status: stat) {
        let limit = max(limit, 0)
        let fd = Syscall.retryingEINTR { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
        guard fd >= 0 else { throw .system(path: path, call: "open", errno: errno) }
        let handle = FileDescriptor(fd)
        defer { handle.close() }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .system(path: path, call: "fstat", errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw .notRegularFile(path: path, type: FileReadError.typeName(status.st_mode))
        }
        guard Int(status.st_size) <= limit else { throw .tooLarge(path: path, limit: limit) }
        // O_NONBLOCK does not apply to regular files: read(2) waits for the disk as usual.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: min(limit + 1, 16_384))
        while bytes.count <= limit {
            let wanted = min(chunk.count, limit + 1 - bytes.count)
            let n = chunk.withUnsafeMutableBytes { raw in
                Syscall.retryingEINTR { Glibc.read(fd, raw.baseAddress, wanted) }
            }
            if n < 0 { throw .system(path: path, call: "read", errno: errno) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        guard bytes.count <= limit else { throw .tooLarge(path: path, limit: limit) }
        return (bytes, status)
    }
}
