import XCTest
@testable import MeshAgent

final class BGPPeersFileTests: XCTestCase {
    private let options = BGPPeersFile.Options(registryPrefix: "/bgpmesh/lab/")

    func testFullMeshGolden() {
        let plan = BGPPeerPlan.make(me: "node1", role: .client, topology: .full,
                                    records: BGPPeersTestRecords.records([3, 1, 2]) + [BGPPeersTestRecords.record(4, asn: nil)])
        let rendered = BGPPeersFile.render(plan: plan, options: options)
        XCTAssertEqual(rendered.text, """
            # Managed by bgpmesh-agent; do not edit.
            # BGP peers from the etcd registry /bgpmesh/lab/ (full mesh).
            # Each protocol is made from template bgpmesh, which bird.conf defines before including this file.

            # peer node2
            protocol bgp bgpmesh_node2 from bgpmesh {
            \tneighbor 198.51.100.2 as 65000;
            }

            # peer node3
            protocol bgp bgpmesh_node3 from bgpmesh {
            \tneighbor 198.51.100.3 as 65000;
            }

            """)
        XCTAssertEqual(rendered.peers, ["node2", "node3"], "node4 has no AS number: skipped by the plan")
        XCTAssertEqual(rendered.unnamed, [])
    }

    func testReflectorGoldenWithClusterIDBFDAndPassword() {
        let plan = BGPPeerPlan.make(me: "node1", role: .reflector, topology: .reflectors,
                                    records: BGPPeersTestRecords.records([1, 2, 3], reflectors: [1, 2]))
        var options = BGPPeersFile.Options(template: "mesh_tpl", clusterID: "192.0.2.250", bfd: true,
                                           passwordLiteral: BIRDSyntax.stringLiteral("s3cret pass"), registryPrefix: "/bgpmesh/lab/")
        XCTAssertEqual(BGPPeersFile.render(plan: plan, options: options).text, """
            # Managed by bgpmesh-agent; do not edit.
            # BGP peers from the etcd registry /bgpmesh/lab/ (route reflectors, this node a reflector).
            # Each protocol is made from template mesh_tpl, which bird.conf defines before including this file.

            # peer node2 (route reflector)
            protocol bgp bgpmesh_node2 from mesh_tpl {
            \tneighbor 198.51.100.2 as 65000;
            \tbfd on;
            \tpassword "s3cret pass";
            }

            # peer node3 (route reflector client)
            protocol bgp bgpmesh_node3 from mesh_tpl {
            \tneighbor 198.51.100.3 as 65000;
            \trr client;
            \trr cluster id 192.0.2.250;
            \tbfd on;
            \tpassword "s3cret pass";
            }

            """)
        // Without a cluster ID BIRD uses the reflector's router ID: no line.
        options.clusterID = nil
        options.bfd = false
        options.passwordLiteral = nil
        let text = BGPPeersFile.render(plan: plan, options: options).text
        XCTAssertTrue(text.contains("\trr client;\n}"), text)
        XCTAssertFalse(text.contains("cluster"))
    }

    func testSameRecordsInAnyOrderGiveTheSameBytes() {
        let records = BGPPeersTestRecords.records(Array(1...20), reflectors: [5, 9])
        let a = BGPPeerPlan.make(me: "node5", role: .reflector, topology: .reflectors, records: records)
        let b = BGPPeerPlan.make(me: "node5", role: .reflector, topology: .reflectors, records: records.reversed())
        XCTAssertEqual(BGPPeersFile.render(plan: a, options: options).text, BGPPeersFile.render(plan: b, options: options).text)
    }

    func testBlocksReadBackAndKeptBlocksStayVerbatim() {
        let plan = BGPPeerPlan.make(me: "node1", role: .client, topology: .full, records: BGPPeersTestRecords.records([1, 2, 3]))
        let first = BGPPeersFile.render(plan: plan, options: options).text
        let blocks = BGPPeersFile.blocks(in: first)
        XCTAssertEqual(blocks.keys.sorted(), ["node2", "node3"])
        XCTAssertEqual(blocks["node3"], "# peer node3\nprotocol bgp bgpmesh_node3 from bgpmesh {\n\tneighbor 198.51.100.3 as 65000;\n}")
        // node3 is gone from the registry but on hold; node2 moved to another address but is held.
        let later = BGPPeerPlan.make(me: "node1", role: .client, topology: .full,
                                     records: [BGPPeersTestRecords.record(1), BGPPeersTestRecords.record(2, address: "198.51.100.22")])
        let kept = BGPPeersFile.render(plan: later, kept: blocks, options: options)
        XCTAssertEqual(kept.text, first, "kept blocks are copied as they are")
        XCTAssertEqual(kept.peers, ["node2", "node3"])
        let released = BGPPeersFile.render(plan: later, options: options)
        XCTAssertEqual(released.peers, ["node2"])
        XCTAssertTrue(released.text.contains("neighbor 198.51.100.22 as 65000;"))
    }

    func testBlockCutShortIsNotReadBack() {
        let text = "# Managed by bgpmesh-agent; do not edit.\n# peer node2\nprotocol bgp bgpmesh_node2 from bgpmesh {\n\tneighbor 198.51.100.2 as 65000;\n"
        XCTAssertEqual(BGPPeersFile.blocks(in: text), [:])
    }

    func testNameTooLongForABIRDSymbolIsLeftOut() {
        let long = String(repeating: "n", count: 57)
        var record = BGPPeersTestRecords.record(2)
        record.name = long
        let plan = BGPPeerPlan.make(me: "node1", role: .client, topology: .full, records: [record, BGPPeersTestRecords.record(3)])
        let rendered = BGPPeersFile.render(plan: plan, options: options)
        XCTAssertEqual(rendered.unnamed, [long])
        XCTAssertEqual(rendered.peers, ["node3"])
        XCTAssertNotNil(BGPPeersFile.protocolName(String(repeating: "n", count: 56)))
    }

    func testReflectorLeavesOutClientsOfAnotherAS() {
        let records = BGPPeersTestRecords.records([1, 2, 3]) + [BGPPeersTestRecords.record(4, asn: 65001)]
        let reflector = BGPPeerPlan.make(me: "node1", role: .reflector, topology: .reflectors, records: records)
        let rendered = BGPPeersFile.render(plan: reflector, options: options, localASN: 65000)
        XCTAssertEqual(rendered.peers, ["node2", "node3"])
        XCTAssertEqual(rendered.unusableAS, ["node4"])
        // Unknown local AS: nothing to compare with. Full mesh: an external session, which BIRD takes.
        XCTAssertEqual(BGPPeersFile.render(plan: reflector, options: options).peers, ["node2", "node3", "node4"])
        let full = BGPPeerPlan.make(me: "node1", role: .client, topology: .full, records: records)
        let external = BGPPeersFile.render(plan: full, options: options, localASN: 65000)
        XCTAssertEqual(external.peers, ["node2", "node3", "node4"])
        XCTAssertTrue(external.text.contains("neighbor 198.51.100.4 as 65001;"))
        // AS 0: BIRD refuses the protocol ("Remote AS number (or peer type) must be set").
        let zero = BGPPeerPlan.make(me: "node1", role: .client, topology: .full,
                                    records: BGPPeersTestRecords.records([1, 2]) + [BGPPeersTestRecords.record(3, asn: 0)])
        XCTAssertEqual(BGPPeersFile.render(plan: zero, options: options).unusableAS, ["node3"])
    }

    func testMarker() {
        XCTAssertTrue(BGPPeersFile.hasMarker(Array((BGPPeersFile.marker + "\n# rest").utf8)))
        XCTAssertFalse(BGPPeersFile.hasMarker(Array("protocol bgp x { }\n".utf8)))
        XCTAssertFalse(BGPPeersFile.hasMarker(Array(BGPPeersFile.marker.utf8)), "the marker is a whole line")
    }
}
