import BIRDControl
import Exposition
import Foundation
import XCTest
@testable import MeshAgent

/// The state builder and its trackers, on explicit instants: since when a peer is unreachable
/// and a session down, whether BIRD is up, and which peer a session belongs to.
final class MeshStateBuilderTests: XCTestCase {
    let t0 = ContinuousClock.now

    func health(_ peers: [(String, Bool, [String])]) -> RegistrySync.Health {
        RegistrySync.Health(node: "node1", synced: true, published: true,
                            peers: peers.map { (name: $0.0, alive: $0.1, hostFile: MeshState.HostFileState.ok, overlay: $0.2) },
                            connectToDrift: false, connectTo: [])
    }

    func bgp(_ sessions: [String: BIRDBGPState], polls: UInt64, errors: UInt64 = 0) -> BGPSessionHistory.Snapshot {
        BGPSessionHistory.Snapshot(sessions: sessions.mapValues { BGPSessionHistory.Session(state: $0) },
                                   convergence: HistogramAccumulator(bounds: [1]).snapshot(), polls: polls, pollErrors: errors)
    }

    func testSinceTrackerCountsFromTheFirstSightAndForgets() {
        var t = SinceTracker()
        XCTAssertNil(t.update("a", holds: false, at: t0))
        XCTAssertEqual(t.update("a", holds: true, at: t0 + .seconds(1)), 0)
        XCTAssertEqual(t.update("a", holds: true, at: t0 + .seconds(4)), 3)
        XCTAssertNil(t.update("a", holds: false, at: t0 + .seconds(5)), "cleared when it stops holding")
        XCTAssertEqual(t.update("a", holds: true, at: t0 + .seconds(6)), 0, "a new episode starts from zero")
        _ = t.update("b", holds: true, at: t0)
        t.keep(only: ["a"])
        XCTAssertEqual(t.update("b", holds: true, at: t0 + .seconds(9)), 0, "a forgotten key starts again")
    }

    func testBIRDUpFollowsTheSamplersPolls() {
        var t = BIRDUpTracker()
        XCTAssertNil(t.update(polls: 0, errors: 0), "unknown before the first poll")
        XCTAssertEqual(t.update(polls: 0, errors: 2), false, "polls that failed since the last look")
        XCTAssertEqual(t.update(polls: 1, errors: 2), true)
        XCTAssertEqual(t.update(polls: 1, errors: 3), false, "a failed poll and no success since")
        XCTAssertEqual(t.update(polls: 1, errors: 3), false, "no poll since: unchanged")
        XCTAssertEqual(t.update(polls: 2, errors: 4), true, "a success since the last look")
    }

    func testPeersSessionsAndTheirDurations() throws {
        var b = MeshStateBuilder()
        var protocols = BIRDProtocolList()
        var p = BIRDProtocol(name: "bgp_x", proto: "BGP", table: nil, state: .start, since: nil, sinceText: "", info: "Active")
        p.bgp = BIRDBGPInfo(state: .active)
        p.bgp?.neighborAddress = "198.51.100.3"
        protocols.protocols = [p]
        var inputs = MeshStateInputs(
            registry: health([("node2", true, ["198.51.100.2"]), ("node3", true, ["198.51.100.3"])]),
            tincReachable: ["node2"], tincConnections: ["node2"], tincdRunning: true,
            probes: ["node2": ProbeHistory.Peer(up: true, lastRTT: 0.002)],
            bgp: bgp(["node2": .established, "bgp_x": .active], polls: 1), bird: BIRDSnapshot(protocols: protocols))
        var s = b.build(inputs, now: t0)
        XCTAssertEqual(s.node, "node1")
        XCTAssertEqual(s.birdUp, true)
        XCTAssertEqual(s.peers.map(\.name), ["node2", "node3"])
        XCTAssertEqual(s.peers[0].probeUp, true)
        XCTAssertEqual(s.peers[0].probeRTT, 0.002)
        XCTAssertNil(s.peers[0].unreachableFor)
        XCTAssertEqual(s.peers[1].tincReachable, false)
        XCTAssertEqual(s.peers[1].unreachableFor, 0)
        XCTAssertNil(s.peers[1].probeUp, "not probed")
        // Sessions map to peers by neighbor address, else by name.
        XCTAssertEqual(s.sessions.map(\.name), ["bgp_x", "node2"])
        XCTAssertEqual(s.sessions.map(\.peer), ["node3", "node2"])
        XCTAssertEqual(s.sessions[0].downFor, 0)

        inputs.bgp = bgp(["node2": .established, "bgp_x": .active], polls: 2)
        s = b.build(inputs, now: t0 + .seconds(7))
        XCTAssertEqual(s.peers[1].unreachableFor, 7)
        XCTAssertEqual(s.sessions[0].downFor, 7)
        // node3 is reached and bgp_x established: both clocks stop; BIRD's sampler failing makes it down.
        inputs.tincReachable = ["node2", "node3"]
        inputs.bgp = bgp(["node2": .established, "bgp_x": .established], polls: 2, errors: 1)
        s = b.build(inputs, now: t0 + .seconds(8))
        XCTAssertNil(s.peers[1].unreachableFor)
        XCTAssertNil(s.sessions[0].downFor)
        XCTAssertEqual(s.birdUp, false)
        // Without the BIRD collector there are no sessions and BIRD's state is unknown.
        inputs.bgp = nil
        s = b.build(inputs, now: t0 + .seconds(9))
        XCTAssertNil(s.birdUp)
        XCTAssertTrue(s.sessions.isEmpty)
    }

    /// A file the registry loop could not write is a health problem of its own, naming the file
    /// and the error, for the peer it is for ("" for conf.d), and costs configuration score.
    func testAFailedFileWriteIsAProblemNamingTheFile() {
        var registry = health([("node2", true, [])])
        var cleanBuilder = MeshStateBuilder()
        let clean = HealthModel.evaluate(cleanBuilder.build(MeshStateInputs(registry: registry), now: t0))
        registry.writeFailures = [
            .init(file: "conf.d/bgpmesh.conf", peer: "", error: "write: No space left on device"),
            .init(file: "hosts/node2", peer: "node2", error: "write: No space left on device"),
        ]
        var builder = MeshStateBuilder()
        let state = builder.build(MeshStateInputs(registry: registry), now: t0)
        XCTAssertEqual(state.fileWriteFailures, registry.writeFailures)
        let report = HealthModel.evaluate(state)
        let failed = report.problems.filter { $0.kind == .fileWriteFailed }
        XCTAssertEqual(failed.map(\.peer), ["", "node2"])
        XCTAssertTrue(failed.allSatisfy { $0.reason.contains("No space left on device") }, "\(failed)")
        XCTAssertTrue(failed.first { $0.peer == "node2" }?.reason.contains("hosts/node2") == true)
        XCTAssertTrue(failed.first { $0.peer == "" }?.reason.contains("conf.d/bgpmesh.conf") == true)
        XCTAssertLessThan(report.score, clean.score)
    }
}
