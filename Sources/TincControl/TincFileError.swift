import POSIXSupport

/// A file-system operation on tinc's configuration, host files, sysfs or the atomic writer
/// failed. Each case names the path and the system call, with its errno.
public enum TincFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// open, read, stat, write, fsync, rename, ... failed.
    case system(path: String, call: String, errno: Int32)
    /// The path would be unsafe (a node or interface name with `/`, `..`, NUL, ...).
    case invalidName(String)
    /// A file larger than the reader's limit (a host file of 10 MB is not a host file).
    case tooLarge(path: String, limit: Int)
    /// A FIFO, directory, socket or device where a file was expected; it is never read.
    case notRegularFile(path: String, type: String)
    /// A file whose mode lets group or others access it, where that is forbidden.
    case insecureMode(path: String, mode: UInt32)

    /// The reader's refusal, with the same path, call and errno.
    public init(_ error: FileReadError) {
        switch error {
        case .system(let path, let call, let code): self = .system(path: path, call: call, errno: code)
        case .tooLarge(let path, let limit): self = .tooLarge(path: path, limit: limit)
        case .notRegularFile(let path, let type): self = .notRegularFile(path: path, type: type)
        case .insecureMode(let path, let mode): self = .insecureMode(path: path, mode: mode)
        }
    }

    public var description: String {
        switch self {
        case .system(let path, let call, let code):
            "\(path): \(Syscall.errorText(code, call: call))"
        case .invalidName(let name):
            "refusing unsafe name \(TincParseError.excerpt(name).debugDescription)"
        case .tooLarge(let path, let limit):
            "\(path) is larger than \(limit) bytes"
        case .notRegularFile(let path, let type):
            "\(path) is \(type), not a regular file"
        case .insecureMode(let path, let mode):
            "\(path) has mode \(String(mode, radix: 8)), which lets group or others access it"
        }
    }
}
