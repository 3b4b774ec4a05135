@testable import MeshAgent
import TincControl
import XCTest

/// The ConnectTo choice: spread, stable, replaced only after the grace period.
final class ConnectToPlannerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let planner = ConnectToPlanner(fanout: 3, grace: .seconds(60))

    func n(_ s: String) -> TincNodeName { TincNodeName(s)! }
    func names(_ count: Int) -> [TincNodeName] { (1...count).map { n("node\($0)") } }
    func alive(_ list: [TincNodeName]) -> [ConnectToPlanner.Peer] { list.map { .init(name: $0, alive: true) } }

    func testScoresAreStableAcrossBuildsAndMachines() {
        // Every agent must rank the same way; these values pin the hash.
        XCTAssertEqual(ConnectToPlanner.score(n("node1"), n("node2")), ConnectToPlanner.score(n("node1"), n("node2")))
        XCTAssertNotEqual(ConnectToPlanner.score(n("node1"), n("node2")), ConnectToPlanner.score(n("node2"), n("node1")))
        XCTAssertEqual(ConnectToPlanner.score(n("node1"), n("node2")), Self.pinnedNode1Node2)
    }
    /// FNV-1a 64 of "node1\0node2" then splitmix64, computed independently (Python, from the algorithm).
    static let pinnedNode1Node2: UInt64 = 2_530_757_149_980_969_605

    func testFewerPeersThanFanoutTakesEveryAlivePeer() {
        let plan = planner.plan(self: n("node1"), peers: alive([n("node2"), n("node3")]), current: [], now: t0)
        XCTAssertEqual(plan, [n("node2"), n("node3")])
        let withDead = planner.plan(self: n("node1"), peers: alive([n("node2")]) + [.init(name: n("node3"), alive: false, unhealthySince: t0)],
                                    current: [], now: t0)
        XCTAssertEqual(withDead, [n("node2")], "a peer without its alive key is not a new choice")
    }

    func testSelfIsNeverChosen() {
        let plan = planner.plan(self: n("node1"), peers: alive(names(5)), current: [n("node1")], now: t0)
        XCTAssertFalse(plan.contains(n("node1")))
        XCTAssertEqual(plan.count, 3)
    }

    func testChoicesAreSpreadAndTheUnionIsConnected() {
        for count in [8, 16, 64] {
            let all = names(count)
            var indegree: [TincNodeName: Int] = [:]
            var adjacency: [TincNodeName: Set<TincNodeName>] = [:]
            for me in all {
                let plan = planner.plan(self: me, peers: alive(all), current: [], now: t0)
                XCTAssertEqual(plan.count, 3)
                XCTAssertEqual(plan, planner.plan(self: me, peers: alive(all.reversed()), current: [], now: t0), "order of input matters")
                for p in plan {
                    indegree[p, default: 0] += 1
                    adjacency[me, default: []].insert(p)
                    adjacency[p, default: []].insert(me)
                }
            }
            // Nobody is everyone's choice: with 3 choices each, the busiest node gets few.
            XCTAssertLessThanOrEqual(indegree.values.max() ?? 0, 9, "\(count) nodes: \(indegree)")
            var seen: Set<TincNodeName> = [all[0]]
            var queue = [all[0]]
            while let next = queue.popLast() {
                for p in adjacency[next] ?? [] where seen.insert(p).inserted { queue.append(p) }
            }
            XCTAssertEqual(seen.count, count, "\(count) nodes: the meta graph is not connected")
        }
    }

    func testHealthyChoicesAreKeptEvenWhenOthersRankHigher() {
        let all = names(10)
        let me = n("node1")
        let best = planner.plan(self: me, peers: alive(all), current: [], now: t0)
        let others = all.filter { $0 != me && !best.contains($0) }
        let current = Array(others.prefix(3))
        XCTAssertEqual(planner.plan(self: me, peers: alive(all), current: current, now: t0), current.sorted())
    }

    func testAnUnhealthyChoiceIsReplacedOnlyAfterTheGracePeriod() {
        let me = n("node1")
        let current = [n("node2"), n("node3"), n("node4")]
        var peers = alive(names(6).filter { $0 != me })
        peers[0] = .init(name: n("node2"), alive: false, unhealthySince: t0)
        XCTAssertEqual(planner.plan(self: me, peers: peers, current: current, now: t0 + .seconds(59)), current)
        let later = planner.plan(self: me, peers: peers, current: current, now: t0 + .seconds(61))
        XCTAssertFalse(later.contains(n("node2")))
        XCTAssertTrue(later.contains(n("node3")) && later.contains(n("node4")))
        XCTAssertEqual(later.count, 3)
        // Alive but unreachable in tinc counts the same way.
        peers[0] = .init(name: n("node2"), alive: true, unhealthySince: t0)
        XCTAssertEqual(planner.plan(self: me, peers: peers, current: current, now: t0 + .seconds(10)), current)
    }

    func testADecommissionedPeerGoesAtOnce() {
        let me = n("node1")
        let current = [n("node2"), n("node3"), n("node4")]
        let peers = alive([n("node3"), n("node4"), n("node5")])
        XCTAssertEqual(planner.plan(self: me, peers: peers, current: current, now: t0), [n("node3"), n("node4"), n("node5")])
    }

    func testHealthyNewChoicesComeBeforeUnhealthyOnes() {
        let me = n("node1")
        var peers = alive(names(5).filter { $0 != me })
        for i in peers.indices where peers[i].name != n("node5") { peers[i].unhealthySince = t0 }
        let small = ConnectToPlanner(fanout: 1, grace: .seconds(60))
        XCTAssertEqual(small.plan(self: me, peers: peers, current: [], now: t0), [n("node5")])
    }

    func testFanoutZeroManagesNoConnectTo() {
        let none = ConnectToPlanner(fanout: 0, grace: .seconds(60))
        XCTAssertEqual(none.plan(self: n("node1"), peers: alive(names(4)), current: [n("node2")], now: t0), [])
    }
}

/// The health memory between rounds that feeds the planner's grace period.
final class ConnectToHealthTrackerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let me = TincNodeName("node1")!

    func n(_ s: String) -> TincNodeName { TincNodeName(s)! }

    func testUnhealthySinceIsTheFirstRoundSeenUnhealthy() {
        var tracker = ConnectToPlanner.HealthTracker()
        let records = [n("node1"), n("node2"), n("node3"), n("node4")]
        var peers = tracker.peers(records: records, alive: [n("node2"), n("node3")], reachable: ["node2"], self: me, now: t0)
        XCTAssertEqual(peers, [.init(name: n("node2"), alive: true), .init(name: n("node3"), alive: true, unhealthySince: t0),
                               .init(name: n("node4"), alive: false, unhealthySince: t0)], "alive but unreachable in tinc is unhealthy")
        peers = tracker.peers(records: records, alive: [n("node2"), n("node3")], reachable: nil, self: me, now: t0 + .seconds(5))
        XCTAssertEqual(peers.map(\.unhealthySince), [nil, nil, t0], "unknown reachability is not unreachable; the first time is kept")
        peers = tracker.peers(records: [n("node2")], alive: [], reachable: nil, self: me, now: t0 + .seconds(9))
        XCTAssertEqual(tracker.unhealthySince, [n("node2"): t0 + .seconds(9)], "peers without a record are forgotten")
    }

    func testAChoiceUnhealthyAcrossRoundsIsReplacedAfterTheGrace() {
        var tracker = ConnectToPlanner.HealthTracker()
        let planner = ConnectToPlanner(fanout: 2, grace: .seconds(60))
        let records = [n("node1"), n("node2"), n("node3"), n("node4")]
        let current = [n("node2"), n("node3")]
        for second in [0, 30, 59] {
            let peers = tracker.peers(records: records, alive: [n("node3"), n("node4")], reachable: nil, self: me, now: t0 + .seconds(second))
            XCTAssertEqual(planner.plan(self: me, peers: peers, current: current, now: t0 + .seconds(second)), current)
        }
        let peers = tracker.peers(records: records, alive: [n("node3"), n("node4")], reachable: nil, self: me, now: t0 + .seconds(60))
        XCTAssertEqual(planner.plan(self: me, peers: peers, current: current, now: t0 + .seconds(60)), [n("node3"), n("node4")])
    }
}
