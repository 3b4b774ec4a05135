import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// The ledger of owned host files: round trip, modes, a damaged file (which owns nothing instead
/// of everything), and saves that fail without losing what was there.
final class OwnedFilesTests: XCTestCase {
    private var parent = ""
    private var directory: String { parent + "/state" }
    private var path: String { directory + "/" + OwnedFiles.fileName }
    private let node2 = RegistryTestRecords.name("node2")
    private let node3 = RegistryTestRecords.name("node3")
    /// SHA-256("abc"), FIPS 180-2 appendix B.1.
    private let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    override func setUpWithError() throws {
        parent = "/tmp/bgpmesh-owned-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: parent)
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func writeFile(_ text: String, mode: Int = 0o600) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try? FileManager.default.removeItem(atPath: path)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private func text() throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    private func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != OwnedFiles.fileName }
    }

    func testAMissingFileIsAnEmptyLedgerAndRecordsRoundTrip() throws {
        var ledger = OwnedFiles.load(directory: directory)
        XCTAssertNil(ledger.broken)
        XCTAssertEqual(ledger.names, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "loading creates nothing")
        try ledger.record(node2, bytes: Array("abc".utf8))
        XCTAssertEqual(try mode(directory), 0o700)
        XCTAssertEqual(try mode(path), 0o600)
        XCTAssertEqual(try text(), "{\"files\":{\"node2\":{\"sha256\":\"\(abc)\"}},\"version\":1}", "SHA-256 of the bytes written")
        try ledger.record(node3, bytes: Array("other".utf8))

        var loaded = OwnedFiles.load(directory: directory)
        XCTAssertNil(loaded.broken)
        XCTAssertEqual(loaded.hashes, ledger.hashes)
        XCTAssertTrue(loaded.owns(node2) && loaded.owns(node3))
        XCTAssertFalse(loaded.owns(RegistryTestRecords.name("node4")))
        try loaded.forget(node2)
        XCTAssertEqual(OwnedFiles.load(directory: directory).names, [node3], "a removal is saved")
        XCTAssertEqual(try leftovers(), [], "no temporary file stays behind")
    }

    func testMemoryOnlyWritesNothing() throws {
        var ledger = OwnedFiles.load(directory: nil)
        try ledger.record(node2, bytes: [1])
        XCTAssertTrue(ledger.owns(node2))
        try ledger.forget(node2)
        XCTAssertEqual(ledger.names, [])
        XCTAssertFalse(ledger.unsaved)
    }

    func testADamagedFileOwnsNothingAndRecordsNothing() throws {
        let entry = "{\"sha256\":\"\(abc)\"}"
        let cases = [
            "",
            "garbage",
            "{\"files\":{\"node2\":\(entry)}",  // truncated
            "{\"files\":{\"node2\":\(entry)}}",  // no version
            "{\"files\":{\"node2\":\(entry)},\"version\":2}",
            "{\"files\":{\"../etc\":\(entry)},\"version\":1}",
            "{\"files\":{\"node2\":{\"sha256\":\"\(abc.uppercased())\"}},\"version\":1}",
            "{\"files\":{\"node2\":{\"sha256\":\"abc\"}},\"version\":1}",
            "{\"files\":[],\"version\":1}",
        ]
        for text in cases {
            try writeFile(text)
            var ledger = OwnedFiles.load(directory: directory)
            guard case .corrupt(let at, _) = ledger.broken else { XCTFail("\(text): \(String(describing: ledger.broken))"); continue }
            XCTAssertEqual(at, path)
            XCTAssertTrue("\(ledger.broken!)".contains("no host file counts as the agent's"), "\(ledger.broken!)")
            XCTAssertFalse(ledger.owns(node2), text)
            XCTAssertEqual(ledger.names, [], text)
            XCTAssertThrowsError(try ledger.record(node3, bytes: [1]), "a broken ledger records nothing") { error in
                XCTAssertEqual(error as? OwnedFilesError, ledger.broken)
            }
            XCTAssertThrowsError(try ledger.forget(node2))
            XCTAssertEqual(try self.text(), text, "the damaged file is kept as evidence, not overwritten")
        }
        try writeFile("{\"files\":{\"node2\":\(entry)},\"version\":1}")
        XCTAssertTrue(OwnedFiles.load(directory: directory).owns(node2), "the valid form of the cases above loads")
    }

    func testUnsafeFilesAreRefused() throws {
        for mode in [0o620, 0o640, 0o604] {
            try writeFile("{\"files\":{},\"version\":1}", mode: mode)
            guard case .unreadable(.insecureMode(_, UInt32(mode))) = OwnedFiles.load(directory: directory).broken else {
                return XCTFail("mode \(String(mode, radix: 8)) accepted")
            }
        }
        try writeFile(String(repeating: " ", count: OwnedFiles.maxFileBytes + 1))
        guard case .unreadable(.file(.tooLarge)) = OwnedFiles.load(directory: directory).broken else { return XCTFail("a huge file loaded") }
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        guard case .unreadable(.notRegularFile) = OwnedFiles.load(directory: directory).broken else { return XCTFail("a FIFO loaded") }
    }

    func testABrokenLedgerIsReadAgainOnlyOnceItsFileChanged() throws {
        try writeFile("garbage")
        var ledger = OwnedFiles.load(directory: directory)
        XCTAssertNotNil(ledger.broken)
        XCTAssertFalse(ledger.reloadIfChanged(), "the same broken file is not read again")
        try writeFile("{\"files\":{\"node2\":{\"sha256\":\"\(abc)\"}},\"version\":1}")
        XCTAssertTrue(ledger.reloadIfChanged())
        XCTAssertNil(ledger.broken)
        XCTAssertTrue(ledger.owns(node2))
        XCTAssertFalse(ledger.reloadIfChanged(), "a usable ledger is not read again")

        try writeFile("garbage again")
        ledger = OwnedFiles.load(directory: directory)
        try FileManager.default.removeItem(atPath: path)
        XCTAssertTrue(ledger.reloadIfChanged())
        XCTAssertNil(ledger.broken, "a removed ledger is an empty one: the operator's choice")
        XCTAssertEqual(ledger.names, [])
    }

    func testAFailedSaveKeepsTheOldFileAndTakesTheEntryBack() throws {
        var ledger = OwnedFiles.load(directory: directory)
        try ledger.record(node2, bytes: Array("abc".utf8))
        let before = try text()
        // A directory that others may enter is refused: nothing is written.
        XCTAssertEqual(chmod(directory, 0o755), 0)
        XCTAssertThrowsError(try ledger.record(node3, bytes: [1])) { error in
            XCTAssertEqual("\(error)", "state directory \(directory): mode 755 lets group or others access it; chmod 700 it")
        }
        XCTAssertFalse(ledger.owns(node3), "an entry that could not be saved is taken back: its host file is not written")
        XCTAssertEqual(try text(), before)
        XCTAssertEqual(chmod(directory, 0o700), 0)

        // The rename onto the ledger fails (a directory is in its place): the temporary file goes.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/x", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ledger.record(node3, bytes: [1])) { error in
            guard case .write(.system(_, "rename", _)) = error as? OwnedFilesError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(ledger.owns(node3))
        XCTAssertEqual(try leftovers(), [], "no temporary file stays behind")

        // A removal that cannot be saved stays removed in memory and is saved later.
        XCTAssertThrowsError(try ledger.forget(node2))
        XCTAssertFalse(ledger.owns(node2), "the file is gone either way")
        XCTAssertTrue(ledger.unsaved)
        XCTAssertThrowsError(try ledger.retrySave())
        try FileManager.default.removeItem(atPath: path)
        try ledger.retrySave()
        XCTAssertFalse(ledger.unsaved)
        XCTAssertEqual(try text(), "{\"files\":{},\"version\":1}")
    }

    func testAFailureIsNewsOnceUntilASaveWorks() throws {
        var ledger = OwnedFiles.load(directory: directory)
        let error = OwnedFilesError.write(.system(path: path, call: "rename", errno: ENOSPC))
        XCTAssertTrue(ledger.isNew(error))
        XCTAssertFalse(ledger.isNew(error))
        try ledger.record(node2, bytes: [1])
        XCTAssertTrue(ledger.isNew(error), "after a save that worked, the same failure is logged again")
    }
}
