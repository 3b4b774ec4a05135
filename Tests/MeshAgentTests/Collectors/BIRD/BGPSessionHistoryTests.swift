import BIRDControl
import Foundation
import XCTest
@testable import MeshAgent

/// The sampler's state machine, driven with explicit times (no clock, no BIRD).
final class BGPSessionHistoryTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

    func testFlapsCountTransitionsOutOfEstablished() {
        let h = BGPSessionHistory(stablePolls: 3)
        h.observe([("p", .established, at(-100))], at: at(0))
        h.observe([("p", .active, nil)], at: at(1))
        h.observe([("p", .active, nil)], at: at(2))
        h.observe([("p", .established, at(2.5))], at: at(3))
        h.observe([("p", .idle, nil)], at: at(4))
        let s = h.snapshot().sessions["p"]!
        XCTAssertEqual(s.flaps, 2)
        XCTAssertEqual(s.establishedAt, at(2.5), "BIRD's own `since` is the established time")
    }

    func testSessionAlreadyUpAtStartIsNotTimed() {
        let h = BGPSessionHistory()
        h.observe([("p", .established, at(-50))], at: at(0))
        XCTAssertEqual(h.converging, [])
        XCTAssertEqual(h.snapshot().sessions["p"]?.establishedAt, at(-50))
        XCTAssertEqual(h.snapshot().sessions["p"]?.flaps, 0)
    }

    func testConvergenceEndsWhenTheRouteCountStopsChanging() {
        let h = BGPSessionHistory(stablePolls: 3)
        h.observe([("p", .connect, nil)], at: at(0))
        h.observe([("p", .established, at(0.8))], at: at(1))
        XCTAssertEqual(h.converging, ["p"])
        h.observeRoutes("p", imported: 10, at: at(1))
        h.observeRoutes("p", imported: 500, at: at(2))
        h.observeRoutes("p", imported: 900, at: at(3.2)) // last change
        h.observeRoutes("p", imported: 900, at: at(4))
        h.observeRoutes("p", imported: 900, at: at(5))
        XCTAssertEqual(h.converging, ["p"], "two unchanged polls are not yet three")
        h.observeRoutes("p", imported: 900, at: at(6))
        XCTAssertEqual(h.converging, [])
        let snap = h.snapshot()
        XCTAssertEqual(snap.sessions["p"]!.lastConvergence!, 2.4, accuracy: 1e-6, "from 0.8 (Established) to 3.2 (last change)")
        XCTAssertEqual(snap.convergence.count, 1)
        XCTAssertEqual(snap.convergence.sum, 2.4, accuracy: 1e-6)
    }

    func testFlapDuringConvergenceAbandonsIt() {
        let h = BGPSessionHistory(stablePolls: 2)
        h.observe([("p", .active, nil)], at: at(0))
        h.observe([("p", .established, nil)], at: at(1))
        h.observeRoutes("p", imported: 5, at: at(1))
        h.observe([("p", .active, nil)], at: at(2))
        XCTAssertEqual(h.converging, [])
        h.observeRoutes("p", imported: 5, at: at(3))
        h.observeRoutes("p", imported: 5, at: at(4))
        XCTAssertNil(h.snapshot().sessions["p"]!.lastConvergence)
        XCTAssertEqual(h.snapshot().convergence.count, 0)
    }

    func testRemovedProtocolIsForgotten() {
        let h = BGPSessionHistory()
        h.observe([("a", .established, nil), ("b", .active, nil)], at: at(0))
        h.observe([("a", .established, nil)], at: at(1))
        XCTAssertEqual(h.snapshot().sessions.keys.sorted(), ["a"])
    }

    func testStateFromTheShortListing() throws {
        let reply = try BIRDReply(parsing: Array(Fixture.text("bird/show-protocols-all.txt").utf8))
        let list = try BIRDProtocolList.parse(reply)
        var states: [String: String] = [:]
        for p in list.protocols where p.kind == .bgp { states[p.name] = BIRDSampler.bgpState(of: p).text }
        XCTAssertEqual(states, ["peer_b": "Established", "peer_b_v6": "Established", "dead_peer": "Connect",
                                "passive_peer": "Passive", "mh_peer": "Active", "disabled_peer": "Down"])
    }
}
