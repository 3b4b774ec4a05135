import Glibc

extension Syscall {
    /// Writes every byte to a blocking descriptor: a partial write continues where it stopped,
    /// EINTR is retried, any other error (EAGAIN included) is thrown with the call's name.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = retryingEINTR { Glibc.write(fd, base + offset, bytes.count - offset) }
            // write(2) returns 0 only for a zero count; treat it as an I/O error rather than spin.
            guard n > 0 else { throw SystemCallError(call: "write", code: n < 0 ? errno : EIO) }
            offset += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out by hand.
        var failure: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) { try writeAll(fd, raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
