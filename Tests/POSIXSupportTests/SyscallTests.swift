import Foundation
import Glibc
import POSIXSupport
import XCTest

/// errno text, EINTR and writeAll.
final class SyscallTests: XCTestCase {
    func testErrorTextNamesTheCall() {
        XCTAssertEqual(Syscall.errorText(ENOENT), "No such file or directory")
        XCTAssertEqual(Syscall.errorText(ENOENT, call: "open"), "No such file or directory (open, errno 2)")
        XCTAssertEqual("\(SystemCallError(call: "write", code: EPIPE))", "Broken pipe (write, errno 32)")
    }

    func testRetriesOnlyEINTR() {
        var calls = 0
        let result = Syscall.retryingEINTR { () -> Int32 in
            calls += 1
            if calls < 3 { errno = EINTR; return -1 }
            return 7
        }
        XCTAssertEqual(result, 7)
        XCTAssertEqual(calls, 3)
        calls = 0
        let failed = Syscall.retryingEINTR { () -> Int32 in
            calls += 1
            errno = EAGAIN
            return -1
        }
        XCTAssertEqual(failed, -1)
        XCTAssertEqual(calls, 1, "other errors are returned at once")
    }

    /// A pipe takes 64 KiB at a time: a 1 MiB write is many partial writes, in order.
    func testWriteAllContinuesAfterPartialWrites() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let (reader, writer) = (fds[0], fds[1])
        let sent = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let drained = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var received: [UInt8] = []
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += chunk[0..<n]
            }
            close(reader)
            drained.signal()
        }
        try Syscall.writeAll(writer, sent)
        close(writer)
        XCTAssertEqual(drained.wait(timeout: .now() + 30), .success, "the reader did not see the end of the pipe within 30 s")
        XCTAssertEqual(received.count, sent.count)
        XCTAssertTrue(received == sent, "bytes arrive whole and in order")
    }

    func testWriteAllNamesTheFailedCall() throws {
        let readOnly = open("/dev/null", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(readOnly, 0)
        defer { close(readOnly) }
        XCTAssertThrowsError(try Syscall.writeAll(readOnly, Array("x".utf8))) { error in
            XCTAssertEqual(error as? SystemCallError, SystemCallError(call: "write", code: EBADF))
        }
        XCTAssertNoThrow(try Syscall.writeAll(readOnly, []), "nothing to write is no call")
    }
}
