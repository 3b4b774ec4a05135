import BIRDControl
import Foundation
@testable import MeshAgent
import XCTest

/// The expected sessions on BIRD's protocols as the real BIRD 2.0.12 lists them
/// (Fixtures/bird/show-protocols-all.txt): a client of four reflectors, matched by neighbor address.
final class MeshStateBuilderBGPTopologyTests: XCTestCase {
    let t0 = ContinuousClock.now
    static let key = try! RegistryTestRecords.key("node1")

    func record(_ name: String, reflector: Bool = false, overlay: [String]) -> NodeRecord {
        NodeRecord(name: name, underlay: .init(addresses: ["192.0.2.1"], port: 655), overlay: .init(addresses: overlay, subnets: []),
                   bgp: .init(asn: 65000, routerID: "192.0.2.1", role: reflector ? "reflector" : nil), publicKey: Self.key)
    }

    /// The registry's records for the fixture's neighbors: peer_b (and peer_b_v6) reach reflector
    /// rb, dead_peer reflector rdead, disabled_peer reflector rdis, passive_peer client cpass; rnone
    /// is a reflector BIRD has no protocol for; mh_peer's neighbor is no registry node's.
    var records: [NodeRecord] {
        [record("cpass", overlay: ["192.0.2.251"]), record("me", overlay: ["192.0.2.9"]),
         record("rb", reflector: true, overlay: ["2001:db8:ca::2", "192.0.2.202"]), record("rdead", reflector: true, overlay: ["192.0.2.250"]),
         record("rdis", reflector: true, overlay: ["192.0.2.252"]), record("rnone", reflector: true, overlay: ["192.0.2.240"])]
    }

    func inputs(plan: BGPPeerPlan?) throws -> MeshStateInputs {
        let reply = try BIRDReply(parsing: Array(Fixture.text("bird/show-protocols-all.txt").utf8))
        let list = try BIRDProtocolList.parse(reply)
        let history = BGPSessionHistory()
        history.observe(list.protocols.filter { $0.kind == .bgp }.map { ($0.name, BIRDSampler.bgpState(of: $0), nil) },
                        at: Date(timeIntervalSince1970: 0))
        let peers = records.filter { $0.name != "me" }
        var inputs = MeshStateInputs(
            registry: RegistrySync.Health(node: "me", synced: true, published: true,
                                          peers: peers.map { (name: $0.name, alive: true, hostFile: .ok, overlay: $0.overlay.addresses) },
                                          connectToDrift: false, connectTo: []),
            tincReachable: Set(peers.map(\.name)), tincConnections: Set(peers.map(\.name)), tincdRunning: true,
            probes: Dictionary(uniqueKeysWithValues: peers.map { ($0.name, ProbeHistory.Peer(up: true, lastRTT: 0.001)) }),
            bgp: history.snapshot(), bird: BIRDSnapshot(protocols: list))
        inputs.bgpRole = .client
        inputs.bgpTopology = .reflectors
        inputs.bgpPlan = plan
        return inputs
    }

    func testExpectedSessionsMatchBIRDsProtocolsByNeighborAddress() throws {
        let plan = BGPPeerPlan.make(me: "me", role: .client, topology: .reflectors, records: records)
        var builder = MeshStateBuilder()
        let input = try inputs(plan: plan)
        _ = builder.build(input, now: t0)
        let state = builder.build(input, now: t0 + .seconds(10))

        XCTAssertEqual(state.bgpRole, .client)
        XCTAssertEqual(state.bgpTopology, .reflectors)
        XCTAssertEqual(state.bgpExpectation.reflectors, ["rb", "rdead", "rdis", "rnone"])
        let expected = try XCTUnwrap(state.expectedSessions)
        XCTAssertEqual(expected.map(\.peer), ["rb", "rdead", "rdis", "rnone"], "a client expects the reflectors only")
        XCTAssertEqual(expected.map(\.address), ["192.0.2.202", "192.0.2.250", "192.0.2.252", "192.0.2.240"])
        XCTAssertEqual(expected.map(\.session), ["peer_b", "dead_peer", "disabled_peer", nil],
                       "rb has two protocols (IPv4 and IPv6 neighbors): the one on the planned address")
        XCTAssertTrue(expected.allSatisfy(\.reflector))
        XCTAssertEqual(state.sessions.first { $0.name == "peer_b_v6" }?.peer, "rb")
        XCTAssertEqual(state.sessions.first { $0.name == "passive_peer" }?.peer, "cpass")

        let report = HealthModel.evaluate(state)
        XCTAssertEqual(report.problems.map { "\($0.kind.rawValue)/\($0.peer)" },
                       ["bgp_session_down/dead_peer", "bgp_session_down/mh_peer", "bgp_session_down/passive_peer",
                        "bgp_session_missing/rnone", "reflector_session_down/rdead"])
        // BGP: rb up of rb, rdead, rnone (rdis is disabled by the operator): 1/3.
        XCTAssertEqual(report.score, 0.8, accuracy: 0.0001)
        let decision = RepairPolicy(settings: .init()).decide(state, history: RepairHistory(), now: t0)
        XCTAssertEqual(decision.actions, [.bgpRestart("dead_peer")],
                       "not passive_peer (another client's), not mh_peer (no registry peer), nothing for rnone (no protocol)")
    }

    func testWithoutAPlanEverySessionCountsAndNothingIsExpected() throws {
        var builder = MeshStateBuilder()
        let state = builder.build(try inputs(plan: nil), now: t0)
        XCTAssertNil(state.expectedSessions)
        XCTAssertEqual(state.bgpExpectation.reflectors, [])
        XCTAssertEqual(state.sessions.count, 6)
        // peer_b, peer_b_v6 Established of five counted (disabled_peer is the operator's choice): 2/5.
        XCTAssertEqual(HealthModel.evaluate(state).score, 0.82, accuracy: 0.0001)
        XCTAssertFalse(HealthModel.evaluate(state).problems.contains { $0.kind == .bgpSessionMissing || $0.kind == .reflectorSessionDown })
    }

    func testWithoutTheBIRDCollectorThePlanIsKnownAndNoSessionIsMatched() throws {
        var input = try inputs(plan: BGPPeerPlan.make(me: "me", role: .client, topology: .reflectors, records: records))
        input.bgp = nil
        input.bird = nil
        var builder = MeshStateBuilder()
        let state = builder.build(input, now: t0)
        XCTAssertEqual(state.expectedSessions?.map(\.peer), ["rb", "rdead", "rdis", "rnone"])
        XCTAssertEqual(state.expectedSessions?.compactMap(\.session), [])
        XCTAssertNil(state.birdUp)
        XCTAssertEqual(HealthModel.evaluate(state).problems, [], "BIRD's protocols are unknown: nothing is missing")
        XCTAssertEqual(HealthModel.evaluate(state).score, 1)
    }

    func testTheWritersStateWinsOverTheRegistrysPlan() async {
        let plan = BGPPeerPlan.make(me: "me", role: .client, topology: .reflectors, records: records)
        var sources = MeshStateSources.BGP(role: .client, topology: .reflectors, writer: { (plan, "syntax error") })
        var inputs = MeshStateInputs()
        await sources.read(into: &inputs, registry: nil)
        XCTAssertEqual(inputs.bgpPlan, plan)
        XCTAssertEqual(inputs.birdPeersRefused, "syntax error")
        XCTAssertEqual(inputs.bgpTopology, .reflectors)
        // A writer with nothing planned yet, and no registry: no plan.
        sources = MeshStateSources.BGP(role: .reflector, topology: .full, writer: { nil })
        inputs = MeshStateInputs()
        await sources.read(into: &inputs, registry: nil)
        XCTAssertNil(inputs.bgpPlan)
        XCTAssertNil(inputs.birdPeersRefused)
        XCTAssertEqual(inputs.bgpRole, .reflector)
    }

    func testTheWritersStateGivesThePlanAndBIRDsMessage() {
        var state = BGPPeersState()
        XCTAssertNil(MeshStateSources.BGP.facts(state), "nothing planned before the registry's first synced round")
        let plan = BGPPeerPlan.make(me: "me", role: .client, topology: .reflectors, records: records)
        state.plan = plan
        XCTAssertEqual(MeshStateSources.BGP.facts(state)?.plan, plan)
        XCTAssertNil(MeshStateSources.BGP.facts(state)?.refused)
        state.refused = .init(message: "8002 /etc/bird/bgpmesh-peers.conf, line 5: Unknown template bgpmesh", since: Date(timeIntervalSince1970: 0))
        XCTAssertEqual(MeshStateSources.BGP.facts(state)?.refused, "8002 /etc/bird/bgpmesh-peers.conf, line 5: Unknown template bgpmesh")
    }
}
