import Glibc

/// The `sockaddr_un` of a Unix socket path, built in one place for connect and bind.
public struct UnixSocketAddress {
    /// Why a path cannot be a Unix socket address.
    public enum PathError: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case containsNUL(String)
        case tooLong(String, bytes: Int, maximum: Int)

        public var description: String {
            switch self {
            case .empty:
                "the socket path is empty"
            case .containsNUL(let path):
                "the socket path \(path.debugDescription) contains a NUL byte"
            case .tooLong(let path, let bytes, let maximum):
                "the socket path \(path) is \(bytes) bytes long; sockaddr_un holds at most \(maximum)"
            }
        }
    }

    /// Longest path, in bytes, that fits with its terminating NUL (107 on Linux).
    public static let maximumPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    public let path: String
    private var storage = sockaddr_un()

    public init(path: String) throws(PathError) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw .empty }
        guard !bytes.contains(0) else { throw .containsNUL(path) }
        guard bytes.count <= Self.maximumPathBytes else {
            throw .tooLong(path, bytes: bytes.count, maximum: Self.maximumPathBytes)
        }
        self.path = path
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }

    /// Calls `body` with the address as a `sockaddr` and its length, for connect(2) or bind(2).
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
