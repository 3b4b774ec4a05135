@testable import MeshAgent
import XCTest

/// The topology's problem kinds, the BGP share of the score and the ladder's limits, table-tested:
/// every kind firing and quiet, on a client of two route reflectors, a reflector and a full mesh.
final class HealthModelBGPTopologyTests: XCTestCase {
    let t0 = ContinuousClock.now
    let policy = RepairPolicy(settings: RepairPolicy.Settings())

    /// Node c1, a client of reflectors r1 and r2, with another client c2 in the registry: two
    /// Established sessions, every peer reached and probed.
    func client() -> MeshState {
        var s = MeshState(node: "c1",
                          peers: ["c2", "r1", "r2"].map { .init(name: $0, alive: true, tincReachable: true, probeUp: true, probeLoss: 0) },
                          sessions: [.init(name: "bgpmesh_r1", peer: "r1", neighbor: "198.51.100.1", state: "Established", established: true),
                                     .init(name: "bgpmesh_r2", peer: "r2", neighbor: "198.51.100.2", state: "Established", established: true)],
                          tincdRunning: true, birdUp: true, registrySynced: true)
        s.bgpExpectation = .init(role: .client, topology: .reflectors,
                                 sessions: [.init(peer: "r1", address: "198.51.100.1", reflector: true, session: "bgpmesh_r1"),
                                            .init(peer: "r2", address: "198.51.100.2", reflector: true, session: "bgpmesh_r2")],
                                 reflectors: ["r1", "r2"])
        return s
    }

    /// Node r1, a reflector: sessions to r2 and to its clients c1 and c2.
    func reflector() -> MeshState {
        var s = MeshState(node: "r1",
                          peers: ["c1", "c2", "r2"].map { .init(name: $0, alive: true, tincReachable: true, probeUp: true, probeLoss: 0) },
                          sessions: ["c1", "c2", "r2"].map { (name: String) in
                              MeshState.Session(name: "bgpmesh_" + name, peer: name, state: "Established", established: true)
                          },
                          tincdRunning: true, birdUp: true, registrySynced: true)
        s.bgpExpectation = .init(role: .reflector, topology: .reflectors,
                                 sessions: [.init(peer: "c1", address: "198.51.100.11", session: "bgpmesh_c1"),
                                            .init(peer: "c2", address: "198.51.100.12", session: "bgpmesh_c2"),
                                            .init(peer: "r2", address: "198.51.100.2", reflector: true, session: "bgpmesh_r2")],
                                 reflectors: ["r1", "r2"])
        return s
    }

    func down(_ s: inout MeshState, _ name: String, state: String = "Active", for seconds: Double = 10) {
        let i = s.sessions.firstIndex { $0.name == name }!
        s.sessions[i].state = state
        s.sessions[i].established = false
        s.sessions[i].downFor = seconds
        s.sessions[i].administrativelyDown = state == "Down"
    }

    func remove(_ s: inout MeshState, _ name: String) {
        s.sessions.removeAll { $0.name == name }
        for i in s.bgpExpectation.sessions!.indices where s.bgpExpectation.sessions![i].session == name {
            s.bgpExpectation.sessions![i].session = nil
        }
    }

    struct Row {
        var name: String
        var start: () -> MeshState
        var change: (inout MeshState) -> Void
        var problems: [String]
        var score: Double
        var actions: [RepairAction]
    }

    func testEveryTopologyKindFiringAndQuiet() {
        let rows: [Row] = [
            Row(name: "a client of two reflectors, both up, no session to the other client: healthy", start: client, change: { _ in },
                problems: [], score: 1, actions: []),
            Row(name: "a reflector with every session up: healthy", start: reflector, change: { _ in }, problems: [], score: 1, actions: []),
            Row(name: "an expected reflector has no protocol in BIRD: missing, nothing to restart", start: client,
                change: { self.remove(&$0, "bgpmesh_r2") },
                problems: ["bgp_session_missing/r2"], score: 0.85, actions: []),
            Row(name: "a reflector's expected client has no protocol: missing", start: reflector,
                change: { self.remove(&$0, "bgpmesh_c2") },
                problems: ["bgp_session_missing/c2"], score: 0.9, actions: []),
            Row(name: "BIRD does not answer: its protocols are unknown, nothing is missing", start: client,
                change: { self.remove(&$0, "bgpmesh_r2"); $0.birdUp = false },
                problems: ["bird_down/"], score: 0.65, actions: []),
            Row(name: "BIRD's state unknown (no poll yet): nothing is missing", start: client,
                change: { $0.sessions = []; $0.birdUp = nil; for i in 0..<2 { $0.bgpExpectation.sessions![i].session = nil } },
                problems: [], score: 1, actions: []),
            Row(name: "one of two reflector sessions down: its own kind, next to the session's, on the session ladder", start: client,
                change: { self.down(&$0, "bgpmesh_r2") },
                problems: ["bgp_session_down/bgpmesh_r2", "reflector_session_down/r2"], score: 0.85, actions: [.bgpRestart("bgpmesh_r2")]),
            Row(name: "a reflector session down within the grace: reported, not yet restarted", start: client,
                change: { self.down(&$0, "bgpmesh_r1", for: 1) },
                problems: ["bgp_session_down/bgpmesh_r1", "reflector_session_down/r1"], score: 0.85, actions: []),
            Row(name: "both reflector sessions down: no reflector session, each restarted", start: client,
                change: { self.down(&$0, "bgpmesh_r1"); self.down(&$0, "bgpmesh_r2", state: "Connect") },
                problems: ["bgp_session_down/bgpmesh_r1", "bgp_session_down/bgpmesh_r2", "no_reflector_session/"], score: 0.7,
                actions: [.bgpRestart("bgpmesh_r1"), .bgpRestart("bgpmesh_r2")]),
            Row(name: "one reflector session down, the other missing: no reflector session", start: client,
                change: { self.down(&$0, "bgpmesh_r1"); self.remove(&$0, "bgpmesh_r2") },
                problems: ["bgp_session_down/bgpmesh_r1", "bgp_session_missing/r2", "no_reflector_session/"], score: 0.7,
                actions: [.bgpRestart("bgpmesh_r1")]),
            Row(name: "a reflector session the operator disabled: not a problem, not counted", start: client,
                change: { self.down(&$0, "bgpmesh_r2", state: "Down") },
                problems: [], score: 1, actions: []),
            Row(name: "every reflector session disabled by the operator: no reflector session, no BGP", start: client,
                change: { self.down(&$0, "bgpmesh_r1", state: "Down"); self.down(&$0, "bgpmesh_r2", state: "Down") },
                problems: ["no_reflector_session/"], score: 0.7, actions: []),
            Row(name: "the mesh has no reflector at all", start: client,
                change: { $0.sessions = []; $0.bgpExpectation.sessions = []; $0.bgpExpectation.reflectors = [] },
                problems: ["no_reflector_session/"], score: 0.7, actions: []),
            Row(name: "no reflector, but the registry view is not current: only the stale registry is reported", start: client,
                change: { $0.sessions = []; $0.bgpExpectation.sessions = []; $0.bgpExpectation.reflectors = []; $0.registrySynced = false },
                problems: ["registry_stale/"], score: 0.95, actions: []),
            Row(name: "reflectors whose records give no session (no AS number): no reflector session", start: client,
                change: { $0.sessions = []; $0.bgpExpectation.sessions = [] },
                problems: ["no_reflector_session/"], score: 0.7, actions: []),
            Row(name: "no reflector session is a client's problem only", start: reflector,
                change: { self.down(&$0, "bgpmesh_r2") },
                problems: ["bgp_session_down/bgpmesh_r2"], score: 0.9, actions: [.bgpRestart("bgpmesh_r2")]),
            Row(name: "BIRD refuses the generated peers config", start: client,
                change: { $0.bgpExpectation.peersRefused = "syntax error, unexpected CF_SYM_UNDEFINED\nsecond line" },
                problems: ["bird_config_refused/"], score: 1, actions: []),
            Row(name: "the operator's own session down on a client: reported as ever, not counted, not the agent's to restart", start: client,
                change: {
                    $0.sessions.append(.init(name: "upstream", peer: nil, neighbor: "203.0.113.9", state: "Active", established: false, downFor: 10))
                }, problems: ["bgp_session_down/upstream"], score: 1, actions: []),
            Row(name: "a client's session to another client (not in the plan) down with the overlay up: reported, never restarted",
                start: client, change: {
                    $0.sessions.append(.init(name: "to_c2", peer: "c2", neighbor: "198.51.100.12", state: "Active", established: false, downFor: 10))
                }, problems: ["bgp_session_down/to_c2"], score: 1, actions: []),
            Row(name: "a full mesh: the same session to c2 is expected, counted and restarted", start: client, change: {
                $0.sessions.append(.init(name: "to_c2", peer: "c2", neighbor: "198.51.100.12", state: "Active", established: false, downFor: 10))
                $0.bgpExpectation = .init(role: .client, topology: .full,
                                          sessions: [.init(peer: "c2", address: "198.51.100.12", session: "to_c2"),
                                                     .init(peer: "r1", address: "198.51.100.1", session: "bgpmesh_r1"),
                                                     .init(peer: "r2", address: "198.51.100.2", session: "bgpmesh_r2")])
            }, problems: ["bgp_session_down/to_c2"], score: 0.9, actions: [.bgpRestart("to_c2")]),
            Row(name: "no plan (no registry): every session BIRD has counts, as before", start: client, change: {
                $0.sessions.append(.init(name: "upstream", peer: nil, state: "Active", established: false, downFor: 10))
                $0.bgpExpectation = .init(role: .client, topology: .reflectors)
            }, problems: ["bgp_session_down/upstream"], score: 0.9, actions: []),
        ]
        for row in rows {
            var state = row.start()
            row.change(&state)
            let report = HealthModel.evaluate(state)
            XCTAssertEqual(report.problems.map { "\($0.kind.rawValue)/\($0.peer)" }, row.problems, row.name)
            XCTAssertEqual(report.score, row.score, accuracy: 0.0001, row.name)
            XCTAssertEqual(policy.decide(state, history: RepairHistory(), now: t0).actions, row.actions, row.name)
        }
    }

    func testAnAlertNeverRestartsAMissingSessionOrAnotherClientsSession() {
        var state = client()
        remove(&state, "bgpmesh_r2")
        state.sessions.append(.init(name: "to_c2", peer: "c2", neighbor: "198.51.100.12", state: "Active", established: false, downFor: 0))
        XCTAssertTrue(state.isUnplannedClientSession(state.sessions.last!))
        XCTAssertFalse(state.isUnplannedClientSession(state.sessions[0]), "a reflector's session is the plan's")
        let decision = policy.decide(state, history: RepairHistory(), now: t0, immediate: true)
        XCTAssertEqual(decision.actions, [])
        XCTAssertEqual(decision.needed, [])
    }

    func testReasonsNameThePeerTheStateAndTheRemainingReflector() {
        var state = client()
        down(&state, "bgpmesh_r2", state: "Connect", for: 42)
        XCTAssertEqual(HealthModel.evaluate(state).problems.first { $0.kind == .reflectorSessionDown }?.reason,
                       "the session to route reflector r2 (bgpmesh_r2) is Connect for 42 s; routes come through r1 alone")
        down(&state, "bgpmesh_r1")
        XCTAssertEqual(HealthModel.evaluate(state).problems.first { $0.kind == .noReflectorSession }?.reason,
                       "no BGP session to a route reflector is Established (r1: Active, r2: Connect)")
        state = client()
        remove(&state, "bgpmesh_r1")
        XCTAssertEqual(HealthModel.evaluate(state).problems.first?.reason,
                       "BIRD has no BGP protocol with neighbor 198.51.100.1 (route reflector r1)")
        state = client()
        state.bgpExpectation.peersRefused = "bgpmesh-peers.conf:3:1 syntax error\nmore"
        XCTAssertEqual(HealthModel.evaluate(state).problems.first?.reason,
                       "BIRD refuses the generated peers config (bgpmesh-peers.conf:3:1 syntax error); it runs on the previous one")
        state.bgpExpectation.peersRefused = String(repeating: "x", count: 500)
        XCTAssertEqual(HealthModel.evaluate(state).problems.first?.reason.count,
                       "BIRD refuses the generated peers config (); it runs on the previous one".count + 201)
    }
}
