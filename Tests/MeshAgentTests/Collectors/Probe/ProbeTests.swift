import Exposition
import Foundation
import Logging
import TestSupport
import TincControl
import XCTest
@testable import MeshAgent

final class ProbeTests: XCTestCase {
    let a = ProbeTarget(peer: "node2", address: "198.51.100.2")
    let b = ProbeTarget(peer: "node3", address: "198.51.100.3")

    func testLossRatioOverTheSlidingWindow() {
        let h = ProbeHistory(windowRounds: 4)
        h.record([a: .reply(rtt: 0.001), b: .lost])
        h.record([a: .lost, b: .lost])
        h.record([a: .reply(rtt: 0.003), b: .lost])
        h.record([a: .reply(rtt: 0.002), b: .reply(rtt: 0.004)])
        XCTAssertEqual(h.snapshot["node2"]?.lossRatio, 0.25)
        XCTAssertEqual(h.snapshot["node3"]?.lossRatio, 0.75)
        h.record([a: .reply(rtt: 0.002), b: .reply(rtt: 0.004)]) // the first round leaves the window
        XCTAssertEqual(h.snapshot["node2"]?.lossRatio, 0.25)
        XCTAssertEqual(h.snapshot["node3"]?.lossRatio, 0.5)
        XCTAssertEqual(h.snapshot["node2"]?.lastRTT, 0.002)
        XCTAssertEqual(h.snapshot["node3"]?.up, true)
    }

    func testFamiliesAndForgottenPeers() throws {
        let h = ProbeHistory(windowRounds: 10)
        h.record([a: .reply(rtt: 0.0015), b: .lost])
        var f = h.families(method: .icmpRaw)
        XCTAssertEqual(Families.value(f, "bgpmesh_peer_up", ["peer": "node2"]), 1)
        XCTAssertEqual(Families.value(f, "bgpmesh_peer_up", ["peer": "node3"]), 0)
        XCTAssertEqual(Families.value(f, "bgpmesh_peer_last_rtt_seconds", ["peer": "node2"]), 0.0015)
        XCTAssertNil(Families.value(f, "bgpmesh_peer_last_rtt_seconds", ["peer": "node3"]))
        XCTAssertEqual(Families.value(f, "bgpmesh_probe_info", ["method": "icmp_raw"]), 1)
        let histogram = f.first { $0.name == "bgpmesh_peer_rtt_seconds" }?.metrics.first
        guard case let .histogram(value)? = histogram?.value else { return XCTFail("no histogram") }
        XCTAssertEqual(value.count, 1)
        h.record([a: .reply(rtt: 0.001)])
        f = h.families(method: .icmpRaw)
        XCTAssertNil(Families.value(f, "bgpmesh_peer_up", ["peer": "node3"]), "a peer that is no longer a target disappears")
        let check = try Promtool.check(ExpositionEncoder.encode(f, format: .text004))
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output, "")
    }

    func testTargetParsing() {
        XCTAssertEqual(ProbeTarget(parsing: "node2=198.51.100.2"), a)
        XCTAssertEqual(ProbeTarget(parsing: "v6=2001:db8::2")?.address, "2001:db8::2")
        for bad in ["node2", "=198.51.100.2", "node2=host.example", "node2=198.51.100.300"] {
            XCTAssertNil(ProbeTarget(parsing: bad), bad)
        }
    }

    func testLoopbackAnswersOverICMP() throws {
        let pinger = ICMPPinger()
        let v4 = ProbeTarget(peer: "self4", address: "127.0.0.1")
        let v6 = ProbeTarget(peer: "self6", address: "::1")
        let outcomes = pinger.round([v4, v6], timeout: .seconds(1))
        guard case let .reply(rtt4)? = outcomes[v4], case let .reply(rtt6)? = outcomes[v6] else {
            return XCTFail("loopback did not answer: \(outcomes), method \(String(describing: pinger.method))")
        }
        XCTAssertLessThan(rtt4, 0.5)
        XCTAssertLessThan(rtt6, 0.5)
        if getuid() == 0 { XCTAssertEqual(pinger.method, .icmpRaw) }
        // The same sockets serve the next round.
        XCTAssertEqual(pinger.round([v4], timeout: .seconds(1)).count, 1)
    }

    func testTargetsFromBGPNeighborsAndConfig() throws {
        let snapshot = try Fixture.birdSnapshot()
        let targets = ProbeTargets.gather(configured: [ProbeTarget(peer: "extra", address: "198.51.100.99")], registry: nil,
                                          bird: snapshot, tinc: nil)
        XCTAssertTrue(targets.contains(ProbeTarget(peer: "peer_b", address: "192.0.2.202")))
        XCTAssertTrue(targets.contains(ProbeTarget(peer: "peer_b_v6", address: "2001:db8:ca::2")))
        XCTAssertTrue(targets.contains(ProbeTarget(peer: "extra", address: "198.51.100.99")))
        XCTAssertEqual(Set(targets).count, targets.count)
    }

    func testRegistryPeersOverlayAddressesWinOverBIRDNeighbors() throws {
        let snapshot = try Fixture.birdSnapshot()
        let extra = ProbeTarget(peer: "extra", address: "198.51.100.99")
        let registry = [(name: "node2", overlay: ["198.51.100.2", "2001:db8:100::2"]), (name: "node4", overlay: ["198.51.100.4", "not-an-ip"])]
        let targets = ProbeTargets.gather(configured: [extra], registry: registry, bird: snapshot, tinc: nil)
        XCTAssertEqual(targets, [extra, ProbeTarget(peer: "node2", address: "198.51.100.2"), ProbeTarget(peer: "node2", address: "2001:db8:100::2"),
                                 ProbeTarget(peer: "node4", address: "198.51.100.4")])
        // A registry that knows no peer yet (not synced) leaves BIRD's neighbors as targets.
        let fallback = ProbeTargets.gather(configured: [], registry: [], bird: snapshot, tinc: nil)
        XCTAssertTrue(fallback.contains(ProbeTarget(peer: "peer_b", address: "192.0.2.202")))
    }

    /// A host file with hundreds of host routes (hand-made, or from an older agent) gives one
    /// probe target per address family, and none at all while the registry runs.
    func testAHostFileFullOfSubnetsIsNotAProbeFlood() throws {
        let state = TincDumpState()
        let text = "Address = 192.0.2.9\n" + (1...200).map { "Subnet = 203.0.113.\($0)/32\n" }.joined()
            + "Subnet = 2001:db8:ff::1/128\nSubnet = 2001:db8:ff::2/128\n"
        let file = try TincHostFile(name: "node9", text: text)
        state.state.withLock { $0.hosts = [(name: "node9", file: file)] }
        XCTAssertEqual(ProbeTargets.gather(configured: [], registry: nil, bird: nil, tinc: state),
                       [ProbeTarget(peer: "node9", address: "2001:db8:ff::1"), ProbeTarget(peer: "node9", address: "203.0.113.1")])
        XCTAssertEqual(ProbeTargets.gather(configured: [], registry: [], bird: nil, tinc: state), [],
                       "with the registry on, only records' overlay addresses (and BIRD's neighbors) are probed")
    }
}
