import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// The pin file: round trip, modes, and every way a damaged file is refused instead of trusted.
final class PinStoreTests: XCTestCase {
    private var parent = ""
    private var directory: String { parent + "/state" }
    private let fingerprint = String(repeating: "ab", count: 32)

    override func setUpWithError() throws {
        parent = try TrustTestKeys.temporaryDirectory("pins")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: parent)
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func writeFile(_ text: String, mode: Int = 0o600) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + PinStore.fileName
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func testMissingFileIsAnEmptyStoreAndSaveLoadRoundTrips() throws {
        var store = try PinStore.load(directory: directory)
        XCTAssertTrue(store.pins.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "loading creates nothing")
        let alpha = try TrustTestKeys.publicKey("alpha").fingerprintSHA256
        try store.pin("alpha", Pin(fingerprintSHA256: alpha, pinnedAt: 1_700_000_000, source: .firstUse))
        try store.pin("node_2", Pin(fingerprintSHA256: fingerprint, pinnedAt: 1_700_000_001, source: .operator))
        try store.save()
        XCTAssertEqual(try mode(directory), 0o700)
        XCTAssertEqual(try mode(store.path), 0o600)
        let loaded = try PinStore.load(directory: directory)
        XCTAssertEqual(loaded, store)
        XCTAssertEqual(loaded["alpha"]?.source, .firstUse)
        XCTAssertEqual(String(decoding: try Data(contentsOf: URL(fileURLWithPath: store.path)), as: UTF8.self),
                       "{\"pins\":{\"alpha\":{\"fingerprint_sha256\":\"\(alpha)\",\"pinned_at\":1700000000,\"source\":\"first_use\"},"
                       + "\"node_2\":{\"fingerprint_sha256\":\"\(fingerprint)\",\"pinned_at\":1700000001,\"source\":\"operator\"}},\"version\":1}")

        var changed = loaded
        XCTAssertEqual(changed.forget("alpha")?.fingerprintSHA256, alpha)
        XCTAssertNil(changed.forget("alpha"))
        try changed.save()
        XCTAssertEqual(try PinStore.load(directory: directory).pins.keys.sorted(), ["node_2"])
    }

    func testCorruptFilesAreRefusedNeverEmpty() throws {
        let entry = "{\"fingerprint_sha256\":\"\(fingerprint)\",\"pinned_at\":1,\"source\":\"first_use\"}"
        let cases = [
            "",
            "garbage",
            "{\"pins\":{\"alpha\":\(entry)}",  // truncated
            "{\"pins\":{\"alpha\":\(entry)}}",  // no version
            "{\"pins\":{\"alpha\":\(entry)},\"version\":2}",
            "{\"pins\":{\"../etc\":\(entry)},\"version\":1}",
            "{\"pins\":{\"alpha\":{\"fingerprint_sha256\":\"\(fingerprint.uppercased())\",\"pinned_at\":1,\"source\":\"first_use\"}},\"version\":1}",
            "{\"pins\":{\"alpha\":{\"fingerprint_sha256\":\"abc\",\"pinned_at\":1,\"source\":\"first_use\"}},\"version\":1}",
            "{\"pins\":{\"alpha\":{\"fingerprint_sha256\":\"\(fingerprint)\",\"pinned_at\":1,\"source\":\"magic\"}},\"version\":1}",
            "{\"pins\":[],\"version\":1}",
        ]
        for text in cases {
            try writeFile(text)
            XCTAssertThrowsError(try PinStore.load(directory: directory), text) { error in
                guard case .corrupt(let path, _) = error as? PinStoreError else { return XCTFail("\(text): \(error)") }
                XCTAssertTrue(path.hasSuffix(PinStore.fileName))
                XCTAssertTrue("\(error)".contains("refusing to trust"), "\(error)")
            }
        }
        try writeFile("{\"pins\":{\"alpha\":\(entry)},\"version\":1}")
        XCTAssertEqual(try PinStore.load(directory: directory)["alpha"]?.fingerprintSHA256, fingerprint, "the valid form of the cases above loads")
    }

    func testUnsafeFilesAreRefused() throws {
        try writeFile("{\"pins\":{},\"version\":1}", mode: 0o620)
        XCTAssertThrowsError(try PinStore.load(directory: directory)) { error in
            guard case .unreadable(.insecureMode(_, 0o620)) = error as? PinStoreError else { return XCTFail("\(error)") }
        }
        // Readable by group or others is refused too (issue 13: readable only by the agent).
        for mode in [0o640, 0o604] {
            try writeFile("{\"pins\":{},\"version\":1}", mode: mode)
            XCTAssertThrowsError(try PinStore.load(directory: directory)) { error in
                guard case .unreadable(.insecureMode(_, UInt32(mode))) = error as? PinStoreError else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains("mode \(String(mode, radix: 8)), which lets group or others access it"), "\(error)")
            }
        }
        try writeFile(String(repeating: " ", count: PinStore.maxFileBytes + 1))
        XCTAssertThrowsError(try PinStore.load(directory: directory)) { error in
            guard case .unreadable(.file(.tooLarge)) = error as? PinStoreError else { return XCTFail("\(error)") }
        }
        // A FIFO in place of the file is refused at once (opened non-blocking), not waited on.
        let path = directory + "/" + PinStore.fileName
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        XCTAssertThrowsError(try PinStore.load(directory: directory)) { error in
            guard case .unreadable(.notRegularFile) = error as? PinStoreError else { return XCTFail("\(error)") }
        }
    }

    func testSaveRefusesAnOpenDirectoryAndBadEntries() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        XCTAssertEqual(chmod(directory, 0o777), 0)
        XCTAssertThrowsError(try PinStore(directory: directory).save()) { error in
            guard case .directory = error as? PinStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + PinStore.fileName))
        XCTAssertThrowsError(try PinStore(directory: parent + "/missing/state").save()) { error in
            guard case .directory = error as? PinStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual("\(error)", "state directory \(parent)/missing/state: No such file or directory (mkdir, errno 2)")
        }
        // An existing 0755 directory (others may enter it and read the pins) is refused as well.
        XCTAssertEqual(chmod(directory, 0o755), 0)
        XCTAssertThrowsError(try PinStore(directory: directory).save()) { error in
            XCTAssertEqual("\(error)", "state directory \(directory): mode 755 lets group or others access it; chmod 700 it")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + PinStore.fileName))
        XCTAssertEqual(chmod(directory, 0o700), 0)
        XCTAssertNoThrow(try PinStore(directory: directory).save(), "the same directory at 0700 is accepted")

        var store = PinStore(directory: directory)
        XCTAssertThrowsError(try store.pin("a/b", Pin(fingerprintSHA256: fingerprint, pinnedAt: 0, source: .operator)))
        XCTAssertThrowsError(try store.pin("alpha", Pin(fingerprintSHA256: "SHA256:" + fingerprint, pinnedAt: 0, source: .operator)))
        XCTAssertTrue(store.pins.isEmpty)
    }
}
