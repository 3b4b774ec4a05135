import Foundation
import Glibc
import TincControl
import XCTest

/// The files the agent owns in a net directory: hosts/<peer> and conf.d/<file>.conf.
final class TincConfigDirectoryWriteTests: XCTestCase {
    private var directory = ""
    private var net: TincConfigDirectory!
    private let node2 = TincNodeName("node2")!
    private let node3 = TincNodeName("node3")!
    private let marker = "# Managed by test"

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("netdir")
        net = TincConfigDirectory(path: directory)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testHostFileWriteCreatesHostsAndSkipsUnchangedBytes() throws {
        XCTAssertNil(net.hostFileBytes(node2))
        XCTAssertEqual(try net.writeHostFile(node2, "\(marker)\nAddress = 192.0.2.12\n"), .written)
        XCTAssertEqual(net.hostFileBytes(node2), Array("\(marker)\nAddress = 192.0.2.12\n".utf8))
        XCTAssertEqual(try net.writeHostFile(node2, "\(marker)\nAddress = 192.0.2.12\n"), .unchanged)
        XCTAssertEqual(try net.writeHostFile(node2, "\(marker)\nAddress = 192.0.2.22\n"), .written)
        XCTAssertEqual(try String(contentsOfFile: directory + "/hosts/node2", encoding: .utf8), "\(marker)\nAddress = 192.0.2.22\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/hosts"), ["node2"], "no temporary file left")
    }

    func testHostFileRemoval() throws {
        try net.writeHostFile(node2, "\(marker)\n")
        XCTAssertTrue(try net.removeHostFile(node2))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/hosts/node2"))
        XCTAssertFalse(try net.removeHostFile(node2), "a missing file is not an error")
        // A hosts/ the agent cannot write to is a clear error naming the call.
        try FileManager.default.createDirectory(atPath: directory + "/hosts/node3", withIntermediateDirectories: true)
        XCTAssertThrowsError(try net.removeHostFile(node3)) { error in
            guard case .system(let path, "unlink", EISDIR)? = error as? TincFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, directory + "/hosts/node3")
        }
    }

    func testOnlyMarkedHostFilesAreListedAsManaged() throws {
        XCTAssertEqual(net.hostNames(startingWith: marker), [], "no hosts/ lists none")
        try net.writeHostFile(node3, "\(marker)\nAddress = 192.0.2.13\n")
        try net.writeHostFile(node2, "\(marker)\n")
        try net.writeHostFile(TincNodeName("node1")!, "Address = 192.0.2.11\n")
        try net.writeHostFile(TincNodeName("node4")!, "Address = 192.0.2.14\n\(marker)\n")
        try "\(marker)\n".write(toFile: directory + "/hosts/node5~", atomically: true, encoding: .utf8)
        XCTAssertEqual(net.hostNames(startingWith: marker), [node2, node3])
    }

    func testConfDWriteAndConnectToRead() throws {
        XCTAssertEqual(net.connectTo(inConfD: "bgpmesh.conf"), [], "a missing file holds no ConnectTo")
        XCTAssertNil(net.confDBytes("bgpmesh.conf"))
        let text = TincConfigWriter.connectToFile([node3, node2])
        XCTAssertEqual(try net.writeConfD("bgpmesh.conf", text), .written)
        XCTAssertEqual(try net.writeConfD("bgpmesh.conf", text), .unchanged)
        XCTAssertEqual(net.confDBytes("bgpmesh.conf"), Array(text.utf8))
        XCTAssertEqual(net.connectTo(inConfD: "bgpmesh.conf"), [node2, node3])
        // tincd reads conf.d with tinc.conf: the written file is part of the server config.
        try "Name = node1\n".write(toFile: directory + "/tinc.conf", atomically: true, encoding: .utf8)
        XCTAssertEqual(try net.serverConfig().connectTo, ["node2", "node3"])

        try "ConnectTo = node2\nConnectTo = ../x\nPort\n".write(toFile: directory + "/conf.d/bgpmesh.conf", atomically: true, encoding: .utf8)
        XCTAssertEqual(net.connectTo(inConfD: "bgpmesh.conf"), [], "a file that does not parse holds no ConnectTo")
    }

    func testConfDNamesStayInConfD() {
        for bad in ["", ".conf", "x.txt", "../tinc.conf", "a/b.conf", ".hidden.conf", "x\u{0}.conf"] {
            XCTAssertThrowsError(try net.writeConfD(bad, "x\n"), bad) { error in
                XCTAssertEqual(error as? TincFileError, .invalidName(bad))
            }
            XCTAssertNil(net.confDBytes(bad))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/conf.d"), "nothing created for a refused name")
    }
}
