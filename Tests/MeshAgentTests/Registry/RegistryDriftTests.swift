import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// Drift: files on disk against what the registry says they hold, in a temporary net directory.
final class RegistryDriftTests: XCTestCase {
    typealias R = RegistryTestRecords
    var directory = ""
    var files: TincConfigDirectory!
    let settings = RegistrySync.Settings(prefix: RegistryTestRecords.prefix, tincDirectory: "/unused", fanout: 2)

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "bgpmesh-drift-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory + "/hosts", withIntermediateDirectories: true)
        files = TincConfigDirectory(path: directory)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func health(_ view: RegistryView, planned: [TincNodeName]?, owned: OwnedFiles = OwnedFiles(directory: nil)) -> RegistrySync.Health {
        RegistryDrift.health(view: view, me: R.name("node1"), synced: true, published: true, planned: planned, settings: settings,
                             files: files, owned: owned)
    }

    func testHostFilesAreOkMismatchedMissingOrInConflict() throws {
        let view = try R.view(["node1", "node2", "node3", "node4"], alive: ["node1", "node2"])
        func bytes(_ node: String) -> [UInt8] { Array(view.records[R.name(node)]!.hostFile.utf8) }
        try files.writeHostFile(R.name("node2"), view.records[R.name("node2")]!.hostFile)
        try files.writeHostFile(R.name("node3"), view.records[R.name("node3")]!.hostFile + "Subnet = 203.0.113.99/32\n")
        try files.writeHostFile(R.name("node4"), view.records[R.name("node4")]!.hostFile + "Subnet = 203.0.113.99/32\n")
        // The agent wrote node3's file; node4's is someone else's.
        var owned = OwnedFiles(directory: nil)
        try owned.record(R.name("node3"), bytes: bytes("node3"))
        let h = health(view, planned: nil, owned: owned)
        XCTAssertEqual(h.node, "node1")
        XCTAssertEqual(h.peers.map(\.name), ["node2", "node3", "node4"], "sorted, without this node")
        XCTAssertEqual(h.peers.map(\.hostFile), [.ok, .mismatch, .conflict],
                       "node2 holds the record's bytes (adoptable), node3 is the agent's and drifted, node4 is the operator's")
        XCTAssertEqual(h.peers.map(\.alive), [true, false, false])
        XCTAssertEqual(health(view, planned: nil).peers.map(\.hostFile), [.ok, .conflict, .conflict],
                       "without the ledger's word a differing file is never the agent's")
        // Missing is missing, whoever wrote it; something that is not a readable file is there
        // all the same: a conflict unless the agent wrote that name.
        try FileManager.default.removeItem(atPath: directory + "/hosts/node2")
        try FileManager.default.removeItem(atPath: directory + "/hosts/node3")
        try FileManager.default.removeItem(atPath: directory + "/hosts/node4")
        XCTAssertEqual(symlink(directory + "/nowhere", directory + "/hosts/node3"), 0)
        XCTAssertEqual(mkfifo(directory + "/hosts/node4", 0o644), 0)
        XCTAssertEqual(health(view, planned: nil, owned: owned).peers.map(\.hostFile), [.missing, .mismatch, .conflict])
        try owned.record(R.name("node4"), bytes: bytes("node4"))
        XCTAssertEqual(health(view, planned: nil, owned: owned).peers.map(\.hostFile), [.missing, .mismatch, .mismatch])
        XCTAssertEqual(h.peers.first?.overlay, ["198.51.100.2", "2001:db8::2"])
        XCTAssertFalse(h.connectToDrift, "no plan yet: nothing to differ from")
        XCTAssertEqual(h.connectTo, [])
    }

    func testTheConnectToFileAgainstThePlan() throws {
        let view = try R.view(["node1", "node2", "node3"])
        let planned = [R.name("node2"), R.name("node3")]
        XCTAssertTrue(health(view, planned: planned).connectToDrift, "a missing file is drift")
        try files.writeConfD("bgpmesh.conf", settings.connectToText(planned))
        XCTAssertFalse(health(view, planned: planned).connectToDrift)
        XCTAssertEqual(health(view, planned: planned).connectTo, ["node2", "node3"])
        // The same ConnectTo lines without the agent's header are an edit all the same.
        try files.writeConfD("bgpmesh.conf", TincConfigWriter.connectToFile(planned))
        XCTAssertTrue(health(view, planned: planned).connectToDrift)
    }
}
