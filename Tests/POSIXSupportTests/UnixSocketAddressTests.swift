import Foundation
import Glibc
import POSIXSupport
import XCTest

/// The one sockaddr_un builder: used for a real bind and connect, refusing what does not fit.
final class UnixSocketAddressTests: XCTestCase {
    func testBindsAndConnectsAtTheLongestPath() throws {
        let directory = "/tmp/bgpmesh-sun-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        XCTAssertEqual(mkdir(directory, 0o700), 0)
        defer { rmdir(directory) }
        let path = directory + "/" + String(repeating: "s", count: UnixSocketAddress.maximumPathBytes - directory.utf8.count - 1)
        XCTAssertEqual(path.utf8.count, 107)
        let address = try UnixSocketAddress(path: path)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener); unlink(path) }
        XCTAssertEqual(address.withSockaddr { bind(listener, $0, $1) }, 0, Syscall.errorText(errno, call: "bind"))
        XCTAssertEqual(listen(listener, 1), 0)
        var status = stat()
        XCTAssertEqual(stat(path, &status), 0, "the socket exists at the whole path, not a truncated one")
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFSOCK)
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(client) }
        XCTAssertEqual(address.withSockaddr { connect(client, $0, $1) }, 0, Syscall.errorText(errno, call: "connect"))
    }

    func testRefusesPathsThatDoNotFit() {
        let long = "/tmp/" + String(repeating: "x", count: 103)
        XCTAssertEqual(long.utf8.count, 108)
        XCTAssertThrowsError(try UnixSocketAddress(path: long)) { error in
            XCTAssertEqual(error as? UnixSocketAddress.PathError, .tooLong(long, bytes: 108, maximum: 107))
            XCTAssertEqual("\(error)", "the socket path \(long) is 108 bytes long; sockaddr_un holds at most 107")
        }
        XCTAssertThrowsError(try UnixSocketAddress(path: "")) { error in
            XCTAssertEqual(error as? UnixSocketAddress.PathError, .empty)
        }
        XCTAssertThrowsError(try UnixSocketAddress(path: "/run/a\0b")) { error in
            XCTAssertEqual(error as? UnixSocketAddress.PathError, .containsNUL("/run/a\0b"))
        }
    }
}
