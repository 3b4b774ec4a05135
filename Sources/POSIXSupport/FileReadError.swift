import Glibc

/// Why `RegularFile.read` refused a file. Each case names the path; a failed call carries its
/// name and errno.
public enum FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// open, fstat or read failed.
    case system(path: String, call: String, errno: Int32)
    /// A FIFO, directory, socket or device: reading it could block or never end.
    case notRegularFile(path: String, type: String)
    /// Larger than the reader's limit.
    case tooLarge(path: String, limit: Int)
    /// The file's mode has a bit the reader forbids (group or others may access it).
    case insecureMode(path: String, mode: mode_t)

    public var path: String {
        switch self {
        case .system(let path, _, _), .notRegularFile(let path, _), .tooLarge(let path, _), .insecureMode(let path, _): path
        }
    }

    /// The reason without the path: `No such file or directory (open, errno 2)`,
    /// `a FIFO, not a regular file`, `larger than 4096 bytes`, `mode 644 lets group or others access it`.
    public var reason: String {
        switch self {
        case .system(_, let call, let code): Syscall.errorText(code, call: call)
        case .notRegularFile(_, let type): "\(type), not a regular file"
        case .tooLarge(_, let limit): "larger than \(limit) bytes"
        case .insecureMode(_, let mode): "mode \(String(mode, radix: 8)) lets group or others access it"
        }
    }

    public var description: String { "\(path): \(reason)" }

    /// What `st_mode` says the file is, for `notRegularFile`.
    static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFLNK: "a symbolic link"
        default: "file type 0o\(String(mode & S_IFMT, radix: 8))"
        }
    }
}
