import Foundation
import Glibc
import POSIXSupport
import TestSupport
import XCTest

/// The one bounded reader: regular files only, a FIFO refused without blocking.
final class RegularFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "bgpmesh-posix-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let path = "\(directory)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func testReadsWholeFilesUpToTheLimit() throws {
        let bytes = Array(String(repeating: "0123456789abcdef", count: 3000).utf8) + [0xC3, 0xA9, 0x0A]
        let path = try file("text", bytes)
        XCTAssertEqual(try RegularFile.read(path, limit: bytes.count), bytes, "a file of exactly the limit is read")
        XCTAssertThrowsError(try RegularFile.read(path, limit: bytes.count - 1)) { error in
            XCTAssertEqual(error as? FileReadError, .tooLarge(path: path, limit: bytes.count - 1))
            XCTAssertEqual("\(error)", "\(path): larger than \(bytes.count - 1) bytes")
        }
        let empty = try file("empty", [])
        XCTAssertEqual(try RegularFile.read(empty, limit: 0), [])
    }

    func testReadsProcFilesThatReportSizeZero() throws {
        var status = stat()
        XCTAssertEqual(stat("/proc/self/status", &status), 0)
        XCTAssertEqual(status.st_size, 0, "procfs reports no size: the reader must read to end of file")
        let text = String(decoding: try RegularFile.read("/proc/self/status", limit: 1 << 20), as: UTF8.self)
        XCTAssertTrue(text.contains("\nPid:\t\(getpid())\n"), text)
        XCTAssertThrowsError(try RegularFile.read("/proc/self/status", limit: 10)) { error in
            XCTAssertEqual(error as? FileReadError, .tooLarge(path: "/proc/self/status", limit: 10), "the limit holds without a size")
        }
    }

    func testErrorsNameThePathAndTheCall() throws {
        let missing = "\(directory)/missing"
        XCTAssertThrowsError(try RegularFile.read(missing, limit: 10)) { error in
            XCTAssertEqual(error as? FileReadError, .system(path: missing, call: "open", errno: ENOENT))
            XCTAssertEqual("\(error)", "\(missing): No such file or directory (open, errno 2)")
        }
        XCTAssertThrowsError(try RegularFile.read(directory, limit: 10)) { error in
            XCTAssertEqual(error as? FileReadError, .notRegularFile(path: directory, type: "a directory"))
            XCTAssertEqual("\(error)", "\(directory): a directory, not a regular file")
        }
        XCTAssertThrowsError(try RegularFile.read("/dev/null", limit: 10)) { error in
            XCTAssertEqual(error as? FileReadError, .notRegularFile(path: "/dev/null", type: "a character device"))
        }
    }

    func testStatusIsTheFileTheSymlinkNames() throws {
        let target = try file("secret", Array("tok\n".utf8), mode: 0o600)
        XCTAssertEqual(symlink(target, "\(directory)/link"), 0)
        let (bytes, status) = try RegularFile.readWithStatus("\(directory)/link", limit: 100)
        XCTAssertEqual(bytes, Array("tok\n".utf8))
        XCTAssertEqual(status.st_mode & 0o777, 0o600)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG)
    }

    func testForbiddenModeBitsRefuseTheFileTheSymlinkNames() throws {
        let secret = try file("secret", Array("tok\n".utf8), mode: 0o600)
        XCTAssertEqual(try RegularFile.read(secret, limit: 100, forbiddenModeBits: 0o077), Array("tok\n".utf8))
        for mode: mode_t in [0o640, 0o604, 0o620, 0o601, 0o644] {
            let path = try file("open-\(String(mode, radix: 8))", Array("tok\n".utf8), mode: mode)
            XCTAssertThrowsError(try RegularFile.read(path, limit: 100, forbiddenModeBits: 0o077)) { error in
                XCTAssertEqual(error as? FileReadError, .insecureMode(path: path, mode: mode))
            }
        }
        XCTAssertEqual(try RegularFile.read(try file("group-read", [1], mode: 0o640), limit: 100, forbiddenModeBits: 0o022), [1],
                       "only the forbidden bits count")
        // A 0600 symlink target is accepted through the link; a 0644 target is refused through it.
        XCTAssertEqual(symlink(secret, "\(directory)/good-link"), 0)
        XCTAssertEqual(try RegularFile.read("\(directory)/good-link", limit: 100, forbiddenModeBits: 0o077), Array("tok\n".utf8))
        let open = try file("world", [2], mode: 0o644)
        XCTAssertEqual(symlink(open, "\(directory)/bad-link"), 0)
        XCTAssertThrowsError(try RegularFile.read("\(directory)/bad-link", limit: 100, forbiddenModeBits: 0o077)) { error in
            XCTAssertEqual(error as? FileReadError, .insecureMode(path: "\(directory)/bad-link", mode: 0o644))
            XCTAssertEqual("\(error)", "\(directory)/bad-link: mode 644 lets group or others access it")
        }
        // The other refusals come first: a missing file is still a missing file.
        XCTAssertThrowsError(try RegularFile.read("\(directory)/missing", limit: 100, forbiddenModeBits: 0o077)) { error in
            XCTAssertEqual(error as? FileReadError, .system(path: "\(directory)/missing", call: "open", errno: ENOENT))
        }
    }

    /// A FIFO without a writer blocks a plain open(2) until someone opens the other end.
    func testFIFOWithoutWriterIsRefusedWithoutBlocking() throws {
        let fifo = "\(directory)/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let outcome = completes(within: .seconds(30)) {
            Result { () throws(FileReadError) in try RegularFile.read(fifo, limit: 4096) }
        }
        guard let outcome else {
            // Releases a reader blocked in open(2); with none, ENXIO instead of blocking here.
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            return XCTFail("reading a FIFO without a writer did not return within 30 s")
        }
        XCTAssertEqual(outcome, .failure(.notRegularFile(path: fifo, type: "a FIFO")))
        XCTAssertEqual("\(FileReadError.notRegularFile(path: fifo, type: "a FIFO"))", "\(fifo): a FIFO, not a regular file")
    }

    /// A FIFO whose writer is open but silent would block read(2) instead.
    func testFIFOWithSilentWriterIsRefusedWithoutBlocking() throws {
        let fifo = "\(directory)/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let writer = open(fifo, O_RDWR | O_CLOEXEC)  // Linux: O_RDWR on a FIFO does not block
        XCTAssertGreaterThanOrEqual(writer, 0)
        defer { close(writer) }
        let outcome = completes(within: .seconds(30)) {
            Result { () throws(FileReadError) in try RegularFile.read(fifo, limit: 4096) }
        }
        guard let outcome else {
            _ = "x".withCString { write(writer, $0, 1) }
            return XCTFail("reading a FIFO with a silent writer did not return within 30 s")
        }
        XCTAssertEqual(outcome, .failure(.notRegularFile(path: fifo, type: "a FIFO")))
    }
}
