import Glibc

/// Owns one socket descriptor and closes it exactly once: explicitly, or when the owner goes away.
final class SocketHandle {
    private(set) var rawValue: Int32

    init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    var isOpen: Bool { rawValue >= 0 }

    func close() {
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
