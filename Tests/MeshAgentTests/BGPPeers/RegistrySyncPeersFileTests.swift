import BIRDControl
import Foundation
import Logging
@testable import MeshAgent
import TestSupport
import XCTest

/// The registry hands its records to the peers-file writer (real etcd 3.4; no BIRD, so the
/// writes stay pending): peers follow the registry, and a deleted node keeps its block for the
/// same hold as its host file.
extension RegistrySyncTests {
    func testPeersFileFollowsTheRegistryAndADeletedNodeKeepsItsBlockForTheHold() async throws {
        _ = try makeNode("node1")
        let path = root + "/bgpmesh-peers.conf"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let writer = BGPPeersWriter(settings: .init(path: path, registryPrefix: prefix, stateDirectory: stateDirectory("node1")),
                                    bird: BIRDClient(socketPath: root + "/no-bird.ctl", restricted: false, timeout: .seconds(1)),
                                    logger: logger, clock: clock.clock)
        try start("node1", peersWriter: writer)
        let client = try etcd()
        defer { client.shutdown() }
        for node in ["node2", "node3"] {
            _ = try await client.put(prefix + "nodes/" + node, value: try RegistryTestRecords.signed(RegistryTestRecords.record(node)))
        }
        func peers() async -> [String] {
            await writer.round()
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return BGPPeersFile.blocks(in: text).keys.sorted()
        }
        try await eventuallyAsync("node1's peers file holds node2 and node3") { await peers() == ["node2", "node3"] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("protocol bgp bgpmesh_node3 from bgpmesh {\n\tneighbor 198.51.100.3 as 65000;\n}"), text)
        XCTAssertTrue(writer.state.pending, "no BIRD: written, not applied")

        _ = try await client.delete(.key(prefix + "nodes/node3"))
        let sync = running["node1"]!.sync
        try await eventuallyAsync("node1 saw node3's record go") { await sync.hostFiles.pendingRemoval[RegistryTestRecords.name("node3")] != nil }
        try await roundsPass("node1")
        let held = await peers()
        XCTAssertEqual(held, ["node2", "node3"], "node3's block went before the hold")
        XCTAssertEqual(writer.state.kept, ["node3"])
        XCTAssertEqual(writer.state.plan?.peers.map(\.name), ["node2"])

        clock.advance(by: sync.settings.removalHold)
        try await eventuallyAsync("node3's block gone after the hold") { await peers() == ["node2"] }
        XCTAssertEqual(writer.state.kept, [])
    }
}
