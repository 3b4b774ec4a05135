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

    func health(_ view: RegistryView, planned: [TincNodeName]?) -> RegistrySync.Health {
        RegistryDrift.health(view: view, me: R.name("node1"), synced: true, published: true, planned: planned, settings: settings, files: files)
    }

    func testHostFilesAreOkMismatchedOrMissing() throws {
        let view = try R.view(["node1", "node2", "node3", "node4"], alive: ["node1", "node2"])
        try files.writeHostFile(R.name("node2"), view.records[R.name("node2")]!.hostFile)
        try files.writeHostFile(R.name("node3"), view.records[R.name("node3")]!.hostFile + "Subnet = 203.0.113.99/32\n")
        let h = health(view, planned: nil)
        XCTAssertEqual(h.node, "node1")
        XCTAssertEqual(h.peers.map(\.name), ["node2", "node3", "node4"], "sorted, without this node")
        XCTAssertEqual(h.peers.map(\.hostFile), [.ok, .mismatch, .missing])
        XCTAssertEqual(h.peers.map(\.alive), [true, false, false])
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
