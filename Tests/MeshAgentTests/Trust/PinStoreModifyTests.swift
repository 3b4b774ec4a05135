import Foundation
import Glibc
@testable import MeshAgent
import XCTest

/// `PinStore.modify`: writers serialized by an flock on trust-pins.lock, a lock held elsewhere
/// ends in a clear timeout, an unchanged store is not rewritten.
final class PinStoreModifyTests: XCTestCase {
    private var parent = ""
    private var directory: String { parent + "/state" }
    private var lockPath: String { directory + "/" + PinStore.lockFileName }

    override func setUpWithError() throws {
        parent = try TrustTestKeys.temporaryDirectory("modify")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: parent)
    }

    private static func fingerprint(_ index: Int) -> String {
        String(repeating: String(format: "%02x", index % 256), count: 32)
    }

    func testConcurrentWritersLoseNoPin() throws {
        let threads = 8
        let perThread = 25
        let failures = LockedErrors()
        let directory = directory
        // Every thread opens the lock file itself: flock excludes open file descriptions, so
        // threads of one process exclude each other as two processes do.
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                let name = "t\(thread)_\(index)"
                do {
                    try PinStore.modify(directory: directory) { (store) throws(PinStoreError) in
                        try store.pin(name, Pin(fingerprintSHA256: Self.fingerprint(index), pinnedAt: Int64(index), source: .firstUse))
                    }
                } catch {
                    failures.append("\(name): \(error)")
                }
            }
        }
        XCTAssertEqual(failures.all, [])
        let pins = try PinStore.load(directory: directory).pins
        XCTAssertEqual(pins.count, threads * perThread)
        XCTAssertEqual(pins["t7_24"]?.fingerprintSHA256, Self.fingerprint(24))
        XCTAssertEqual(try mode(directory), 0o700)
        XCTAssertEqual(try mode(lockPath), 0o600)
    }

    func testLockHeldElsewhereTimesOutWithAClearError() throws {
        try PinStore.modify(directory: directory) { (store) throws(PinStoreError) in
            try store.pin("alpha", Pin(fingerprintSHA256: Self.fingerprint(1), pinnedAt: 1, source: .firstUse))
        }
        let holder = open(lockPath, O_RDWR | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(holder, 0)
        defer { close(holder) }
        XCTAssertEqual(flock(holder, LOCK_EX | LOCK_NB), 0)
        var ran = false
        XCTAssertThrowsError(try PinStore.modify(directory: directory, timeout: .milliseconds(100)) { store in
            ran = true
            store.forget("alpha")
        }) { error in
            XCTAssertEqual(error as? PinStoreError, .lockTimeout(path: lockPath, waited: .milliseconds(100)))
            XCTAssertEqual("\(error)", "pin store lock \(lockPath) is still held by another process after 100ms (a running agent "
                                       + "saving a pin, or another `bgpmesh-agent trust` command); try again")
        }
        XCTAssertFalse(ran, "the change ran without the lock")
        XCTAssertNotNil(try PinStore.load(directory: directory)["alpha"])

        // Released, the same call goes through.
        XCTAssertEqual(flock(holder, LOCK_UN), 0)
        let removed = try PinStore.modify(directory: directory, timeout: .milliseconds(100)) { store in store.forget("alpha") }
        XCTAssertEqual(removed?.fingerprintSHA256, Self.fingerprint(1))
        XCTAssertNil(try PinStore.load(directory: directory)["alpha"])
    }

    func testUnchangedStoreIsNotRewrittenAndErrorsLeaveTheFile() throws {
        try PinStore.modify(directory: directory) { (store) throws(PinStoreError) in
            try store.pin("alpha", Pin(fingerprintSHA256: Self.fingerprint(1), pinnedAt: 1, source: .firstUse))
        }
        let path = directory + "/" + PinStore.fileName
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)
        let missing = try PinStore.modify(directory: directory) { store in store.forget("bravo") }
        XCTAssertNil(missing)
        // A refused change throws before anything is saved.
        XCTAssertThrowsError(try PinStore.modify(directory: directory) { (store) throws(PinStoreError) in
            store.forget("alpha")
            try store.pin("bad/name", Pin(fingerprintSHA256: Self.fingerprint(2), pinnedAt: 2, source: .operator))
        })
        var after = stat()
        XCTAssertEqual(stat(path, &after), 0)
        XCTAssertEqual(after.st_ino, before.st_ino, "the pin file was replaced although nothing changed")
        XCTAssertNotNil(try PinStore.load(directory: directory)["alpha"])
    }

    func testLockFileThatIsNotARegularFileIsRefused() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createSymbolicLink(atPath: lockPath, withDestinationPath: parent + "/elsewhere")
        XCTAssertThrowsError(try PinStore.modify(directory: directory) { _ in }) { error in
            guard case .lock(let path, let reason) = error as? PinStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, lockPath)
            XCTAssertTrue(reason.contains("open, errno \(ELOOP)"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent + "/elsewhere"), "the symlink was followed")
        try FileManager.default.removeItem(atPath: lockPath)
        try FileManager.default.createDirectory(atPath: lockPath, withIntermediateDirectories: false)
        XCTAssertThrowsError(try PinStore.modify(directory: directory) { _ in }) { error in
            guard case .lock(_, let reason) = error as? PinStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("errno \(EISDIR)") || reason == "not a regular file", reason)
        }
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }
}

/// Error lines collected from several threads.
private final class LockedErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
