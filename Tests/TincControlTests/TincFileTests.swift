import Foundation
import Glibc
import TestSupport
import TincControl
import XCTest

/// The atomic writer and the sysfs reader.
final class TincFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("files")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAtomicWriteSkipsUnchangedContent() throws {
        let path = directory + "/bgpmesh.conf"
        XCTAssertEqual(try TincAtomicFile.write("ConnectTo = node2\n", to: path), .written)
        var before = stat()
        stat(path, &before)
        usleep(20_000)
        XCTAssertEqual(try TincAtomicFile.write("ConnectTo = node2\n", to: path), .unchanged)
        var after = stat()
        stat(path, &after)
        XCTAssertEqual(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec, "an unchanged file keeps its mtime")
        XCTAssertEqual(before.st_ino, after.st_ino)
        XCTAssertEqual(try TincAtomicFile.write("ConnectTo = node3\n", to: path, mode: 0o600), .written)
        stat(path, &after)
        XCTAssertNotEqual(before.st_ino, after.st_ino, "replaced by rename")
        XCTAssertEqual(after.st_mode & 0o777, 0o600)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "ConnectTo = node3\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["bgpmesh.conf"], "no temporary file left")
        XCTAssertEqual(try TincAtomicFile.write("", to: directory + "/empty"), .written)
        XCTAssertEqual(try TincAtomicFile.write("", to: directory + "/empty"), .unchanged)
    }

    /// `replacing: false` (join's files): a file already there is never replaced, whatever it
    /// holds, and no temporary file stays; an absent one is created with its mode.
    func testAtomicWriteWithoutReplacingKeepsAFileThatIsThere() throws {
        let path = directory + "/tinc.conf"
        try "Name = theirs\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try TincAtomicFile.write("Name = ours\n", to: path, replacing: false)) { error in
            guard case .system(_, "link", EEXIST)? = error as? TincFileError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "Name = theirs\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["tinc.conf"], "no temporary file left")
        XCTAssertEqual(try TincAtomicFile.write("Name = ours\n", to: directory + "/new", mode: 0o600, replacing: false), .written)
        var st = stat()
        stat(directory + "/new", &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["new", "tinc.conf"])
    }

    func testAtomicWriteErrors() {
        XCTAssertThrowsError(try TincAtomicFile.write("x", to: directory + "/missing-dir/file")) { error in
            guard case .system(_, "open", ENOENT)? = error as? TincFileError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TincAtomicFile.write("x", to: ""))
        XCTAssertThrowsError(try TincAtomicFile.write("x", to: directory + "/"))
    }

    /// The unchanged-content check reads the old file first: a FIFO there must not block it.
    /// The FIFO is replaced by the file, as any other stale file would be.
    func testAtomicWriteOverAFIFODoesNotBlock() throws {
        let path = directory + "/node2"
        XCTAssertEqual(mkfifo(path, 0o644), 0)
        let outcome = completes(within: .seconds(30)) {
            Result { () throws(TincFileError) in try TincAtomicFile.write("Port = 655\n", to: path) }
        }
        guard let outcome else {
            // Releases a reader blocked in open(2); with none, ENXIO instead of blocking here.
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            return XCTFail("writing over a FIFO did not return within 30 s")
        }
        XCTAssertEqual(outcome, .success(.written))
        var status = stat()
        XCTAssertEqual(stat(path, &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "Port = 655\n")
    }

    func testSysfsFixtureFromTheLab() throws {
        try FileManager.default.createDirectory(atPath: directory + "/class/net", withIntermediateDirectories: true)
        try Fixture.copyTree("sys-class-net-tinc0", to: directory + "/class/net/tinc0")
        let stats = try TincInterfaceStatistics.read(interface: "tinc0", sysfsRoot: directory)
        XCTAssertEqual(stats, TincInterfaceStatistics(interface: "tinc0", operState: "unknown", mtu: 1400, rxBytes: 8721, txBytes: 2858,
                                                      rxPackets: 43, txPackets: 32, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0))
        XCTAssertThrowsError(try TincInterfaceStatistics.read(interface: "tinc9", sysfsRoot: directory)) { error in
            guard case .system(_, "open", ENOENT)? = error as? TincFileError else { return XCTFail("\(error)") }
        }
        for bad in ["", "..", "a/b", "averyveryverylongname"] {
            XCTAssertThrowsError(try TincInterfaceStatistics.read(interface: bad, sysfsRoot: directory), bad)
        }
        try "garbage\n".write(toFile: directory + "/class/net/tinc0/statistics/rx_bytes", atomically: true, encoding: .utf8)
        XCTAssertNil(try TincInterfaceStatistics.read(interface: "tinc0", sysfsRoot: directory).rxBytes)
    }

    func testLoopbackFromTheRealSysfs() throws {
        let stats = try TincInterfaceStatistics.read(interface: "lo")
        XCTAssertNotNil(stats.rxBytes)
        XCTAssertEqual(stats.mtu, 65536)
    }
}
