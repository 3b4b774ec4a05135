import XCTest
import TincControl
@testable import MeshAgent

final class BGPPeerPlanTests: XCTestCase {
    private static let key = try! RegistryTestRecords.key("node1")

    private func record(_ name: String, _ index: Int, role: String? = nil, asn: UInt32? = 65000,
                        overlay: [String]? = nil) -> NodeRecord {
        NodeRecord(name: name, underlay: .init(addresses: ["192.0.2.\(index)"], port: 655),
                   overlay: .init(addresses: overlay ?? ["2001:db8::\(index)", "198.51.100.\(index)"], subnets: []),
                   bgp: .init(asn: asn, routerID: "192.0.2.\(index)", role: role), publicKey: Self.key)
    }

    private var mesh: [NodeRecord] {
        [record("node1", 1, role: "reflector"), record("node2", 2, role: "reflector"), record("node3", 3), record("node4", 4),
         record("node5", 5, asn: nil), record("node6", 6, overlay: [])]
    }

    func testFullMeshPeersWithEveryOtherRecordOnItsIPv4Address() {
        let plan = BGPPeerPlan.make(me: "node3", role: .client, topology: .full, records: mesh)
        XCTAssertEqual(plan.peers.map(\.name), ["node1", "node2", "node4"])
        XCTAssertEqual(plan.peers.map(\.address), ["198.51.100.1", "198.51.100.2", "198.51.100.4"])
        XCTAssertEqual(plan.peers.filter { $0.rrClient || $0.peerIsReflector }, [], "roles mean nothing in a full mesh")
        XCTAssertEqual(plan.skipped, ["node5": .noASN, "node6": .noAddress])
        XCTAssertEqual(plan.reflectors, [])
    }

    func testClientPeersOnlyWithTheReflectors() {
        let plan = BGPPeerPlan.make(me: "node3", role: .client, topology: .reflectors, records: mesh)
        XCTAssertEqual(plan.peers.map(\.name), ["node1", "node2"])
        XCTAssertTrue(plan.peers.allSatisfy { $0.peerIsReflector && !$0.rrClient })
        XCTAssertEqual(plan.skipped, [:], "clients that are not peers are not skipped either")
        XCTAssertEqual(plan.reflectors, ["node1", "node2"])
    }

    func testReflectorPeersWithEveryoneAndReflectsForClientsOnly() {
        let plan = BGPPeerPlan.make(me: "node1", role: .reflector, topology: .reflectors, records: mesh)
        XCTAssertEqual(plan.peers.map(\.name), ["node2", "node3", "node4"])
        XCTAssertEqual(plan.peers.map(\.rrClient), [false, true, true])
        XCTAssertEqual(plan.peers.map(\.peerIsReflector), [true, false, false])
        XCTAssertEqual(plan.skipped, ["node5": .noASN, "node6": .noAddress])
    }

    func testOwnRoleComesFromTheSettingNotFromTheOwnRecord() {
        // node3's record still says client; its configuration already says reflector.
        let plan = BGPPeerPlan.make(me: "node3", role: .reflector, topology: .reflectors, records: mesh)
        XCTAssertEqual(plan.reflectors, ["node1", "node2", "node3"])
        XCTAssertEqual(plan.peers.map(\.name), ["node1", "node2", "node4"])
        // And node1 demoted by its own setting peers only with the other reflector.
        let demoted = BGPPeerPlan.make(me: "node1", role: .client, topology: .reflectors, records: mesh)
        XCTAssertEqual(demoted.peers.map(\.name), ["node2"])
    }

    func testMeshWithoutReflectorsGivesClientsNoPeers() {
        let plan = BGPPeerPlan.make(me: "node3", role: .client, topology: .reflectors, records: [record("node3", 3), record("node4", 4)])
        XCTAssertEqual(plan.peers, [])
        XCTAssertEqual(plan.reflectors, [])
    }

    func testIPv6OnlyRecordPeersOnItsIPv6Address() {
        let plan = BGPPeerPlan.make(me: "a", role: .client, topology: .full, records: [record("b", 2, overlay: ["2001:db8::2"])])
        XCTAssertEqual(plan.peers.map(\.address), ["2001:db8::2"])
    }

    func testRecordRoleIsCheckedAndClientRecordsKeepTheirBytes() throws {
        let client = record("node3", 3)
        XCTAssertFalse(String(decoding: client.encoded(), as: UTF8.self).contains("role"))
        let reflector = record("node1", 1, role: "reflector")
        XCTAssertTrue(String(decoding: reflector.encoded(), as: UTF8.self).contains("\"role\":\"reflector\""))
        var bogus = try RegistryTestRecords.record("node2")
        bogus.bgp.role = "leader"
        XCTAssertEqual(RegistryRecordCheck.check(name: RegistryTestRecords.name("node2"), value: try RegistryTestRecords.signed(bogus),
                                                 rules: RegistryTestRecords.rules).failure, .invalidField)
        bogus.bgp.role = "reflector"
        XCTAssertNil(RegistryRecordCheck.check(name: RegistryTestRecords.name("node2"), value: try RegistryTestRecords.signed(bogus),
                                               rules: RegistryTestRecords.rules).failure)
    }

    func testBIRDSyntax() {
        for ok in ["bgpmesh", "_x", "mesh_peer2", String(repeating: "a", count: 64)] { XCTAssertTrue(BIRDSyntax.isSymbol(ok), ok) }
        for bad in ["", "1a", "a-b", "a b", "a\"", String(repeating: "a", count: 65), "é"] { XCTAssertFalse(BIRDSyntax.isSymbol(bad), bad) }
        for ok in ["0.0.0.0", "192.0.2.1", "255.255.255.255"] { XCTAssertTrue(BIRDSyntax.isIPv4(ok), ok) }
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1..2.3"] { XCTAssertFalse(BIRDSyntax.isIPv4(bad), bad) }
        XCTAssertEqual(BIRDSyntax.stringLiteral("s3cret pw"), "\"s3cret pw\"")
        for bad in ["a\"b", "a\nb", "a\\b", "a\u{7f}"] { XCTAssertNil(BIRDSyntax.stringLiteral(bad), bad) }
    }
}
