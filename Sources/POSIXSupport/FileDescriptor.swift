import Glibc

/// Owns one file or socket descriptor and closes it exactly once: explicitly, or when the owner goes away.
public final class FileDescriptor {
    public private(set) var rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    public var isOpen: Bool { rawValue >= 0 }

    public func close() {
        guard rawValue >= 0 else { return }
        let descriptor = rawValue
        rawValue = -1
        // Not retried on EINTR: Linux has already released the number.
        _ = Glibc.close(descriptor)
    }

    deinit {
        close()
    }
}
