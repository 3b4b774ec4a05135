@testable import MeshAgent
import XCTest

/// The repair policy and the health model, table-tested with an injected clock.
final class RepairPolicyTests: XCTestCase {
    let t0 = ContinuousClock.now
    let policy = RepairPolicy(settings: {
        var s = RepairPolicy.Settings()
        s.canRestartTincd = true
        return s
    }())

    func healthy() -> MeshState {
        MeshState(node: "node1",
                  peers: [.init(name: "node2", alive: true, tincReachable: true, probeUp: true, probeLoss: 0),
                          .init(name: "node3", alive: true, tincReachable: true, probeUp: true, probeLoss: 0)],
                  sessions: [.init(name: "node2", peer: "node2", state: "Established", established: true),
                             .init(name: "node3", peer: "node3", state: "Established", established: true)],
                  tincdRunning: true, birdUp: true, registrySynced: true)
    }

    func testAHealthyMeshScoresOneAndNeedsNothing() {
        let report = HealthModel.evaluate(healthy())
        XCTAssertEqual(report.score, 1)
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(policy.decide(healthy(), history: RepairHistory(), now: t0).actions, [])
    }

    func testEachProblemMapsToItsCheapestAction() {
        struct Row { var name: String; var change: (inout MeshState) -> Void; var kinds: [HealthProblem.Kind]; var actions: [RepairAction] }
        let rows: [Row] = [
            Row(name: "host file missing", change: { $0.peers[0].hostFile = .missing }, kinds: [.hostKeyMissing], actions: [.reinstallHostKeys]),
            Row(name: "host file mismatch", change: { $0.peers[1].hostFile = .mismatch }, kinds: [.hostKeyMismatch], actions: [.reinstallHostKeys]),
            Row(name: "host file the agent did not write: reported, never reinstalled", change: { $0.peers[1].hostFile = .conflict },
                kinds: [.hostFileConflict], actions: []),
            Row(name: "a conflict next to a missing file: only the missing one calls for a reinstall",
                change: { $0.peers[0].hostFile = .missing; $0.peers[1].hostFile = .conflict },
                kinds: [.hostKeyMissing, .hostFileConflict], actions: [.reinstallHostKeys]),
            Row(name: "peer unreachable with the operator's host file: tinc is told to retry",
                change: { $0.peers[0].hostFile = .conflict; $0.peers[0].tincReachable = false; $0.peers[0].unreachableFor = 4 },
                kinds: [.hostFileConflict, .peerUnreachable], actions: [.tincRetry]),
            Row(name: "ConnectTo drift", change: { $0.connectToDrift = true }, kinds: [.connectToDrift], actions: [.rewriteConnectTo]),
            Row(name: "tincd down", change: { $0.tincdRunning = false }, kinds: [.tincdDown], actions: [.restartTincd]),
            Row(name: "peer unreachable past its grace", change: { $0.peers[0].tincReachable = false; $0.peers[0].unreachableFor = 4 },
                kinds: [.peerUnreachable], actions: [.tincRetry]),
            Row(name: "peer unreachable within its grace", change: { $0.peers[0].tincReachable = false; $0.peers[0].unreachableFor = 1 },
                kinds: [.peerUnreachable], actions: []),
            Row(name: "BGP down, overlay up, past grace", change: { $0.sessions[0] = .init(name: "node2", peer: "node2", state: "Active", established: false, downFor: 4) },
                kinds: [.bgpSessionDown], actions: [.bgpRestart("node2")]),
            Row(name: "BGP down within grace", change: { $0.sessions[0] = .init(name: "node2", peer: "node2", state: "Active", established: false, downFor: 1) },
                kinds: [.bgpSessionDown], actions: []),
            Row(name: "BGP down and the overlay path down too", change: {
                $0.sessions[0] = .init(name: "node2", peer: "node2", state: "Active", established: false, downFor: 10)
                $0.peers[0].probeUp = false
                $0.peers[0].probeLoss = 1
            }, kinds: [.bgpSessionDown, .peerProbeLoss], actions: []),
            Row(name: "BGP disabled by an operator", change: {
                $0.sessions[0] = .init(name: "node2", peer: "node2", state: "Down", established: false, downFor: 100, administrativelyDown: true)
            }, kinds: [], actions: []),
            Row(name: "BIRD down", change: { $0.birdUp = false }, kinds: [.birdDown], actions: []),
        ]
        for row in rows {
            var state = healthy()
            row.change(&state)
            let report = HealthModel.evaluate(state)
            XCTAssertEqual(Set(report.problems.map(\.kind)), Set(row.kinds), row.name)
            if !row.kinds.isEmpty { XCTAssertLessThan(report.score, 1, row.name) }
            XCTAssertEqual(policy.decide(state, history: RepairHistory(), now: t0).actions, row.actions, row.name)
        }
    }

    func testAnAlertSkipsTheGracePeriods() {
        var state = healthy()
        state.sessions[0] = .init(name: "node2", peer: "node2", state: "Active", established: false, downFor: 0.5)
        XCTAssertEqual(policy.decide(state, history: RepairHistory(), now: t0).actions, [])
        XCTAssertEqual(policy.decide(state, history: RepairHistory(), now: t0, immediate: true).actions, [.bgpRestart("node2")])
    }

    func testBackoffDoublesLikeBIRDsErrorWaitAndIsCapped() {
        // The climb (three attempts): 2 s, 4 s; then from repair.cooldown-max doubling up to repair.episode-backoff-max.
        XCTAssertEqual(policy.backoff(attempts: 1), .seconds(2))
        XCTAssertEqual(policy.backoff(attempts: 2), .seconds(4))
        XCTAssertEqual(policy.backoff(attempts: 3), .seconds(60))
        XCTAssertEqual(policy.backoff(attempts: 4), .seconds(120))
        XCTAssertEqual(policy.backoff(attempts: 10), .seconds(900))
        var state = healthy()
        state.connectToDrift = true
        var history = RepairHistory()
        history.record(.rewriteConnectTo, at: t0)
        history.record(.rewriteConnectTo, at: t0)
        let early = policy.decide(state, history: history, now: t0 + .seconds(3))
        XCTAssertEqual(early.actions, [])
        XCTAssertEqual(early.skipped.map(\.reason), [.cooldown])
        XCTAssertEqual(policy.decide(state, history: history, now: t0 + .seconds(4)).actions, [.rewriteConnectTo])
    }

    func testEscalationFromRetryToReload() {
        var state = healthy()
        state.peers[0].tincReachable = false
        state.peers[0].unreachableFor = 10
        var history = RepairHistory()
        XCTAssertEqual(policy.decide(state, history: history, now: t0).actions, [.tincRetry])
        history.record(.tincRetry, at: t0)
        history.record(.tincRetry, at: t0 + .seconds(2))
        XCTAssertEqual(policy.decide(state, history: history, now: t0 + .seconds(6)).actions, [.tincReload],
                       "two ALRMs did not help: HUP + ALRM next")
    }

    func testRateLimitPerWindow() {
        var s = RepairPolicy.Settings()
        s.maxActions = 3
        s.window = .seconds(60)
        let limited = RepairPolicy(settings: s)
        var state = healthy()
        state.connectToDrift = true
        var history = RepairHistory()
        for i in 0..<3 { history.taken.append(t0 + .seconds(i)) }
        let d = limited.decide(state, history: history, now: t0 + .seconds(10))
        XCTAssertEqual(d.actions, [])
        XCTAssertEqual(d.skipped.map(\.reason), [.rateLimited])
        XCTAssertEqual(limited.decide(state, history: history, now: t0 + .seconds(61)).actions, [.rewriteConnectTo])
    }

    func testQuorumGuardLeavesTheMeshConfigurationAlone() {
        var state = healthy()
        state.registrySynced = false
        state.peers[0].tincReachable = false
        state.peers[0].unreachableFor = 10
        state.peers[1].tincReachable = false
        state.peers[1].unreachableFor = 10
        state.peers[0].hostFile = .missing
        state.connectToDrift = true
        let d = policy.decide(state, history: RepairHistory(), now: t0)
        XCTAssertEqual(Set(d.skipped.filter { $0.reason == .quorum }.map(\.action)), [.reinstallHostKeys, .rewriteConnectTo])
        XCTAssertFalse(d.actions.contains { $0.rewritesMeshConfiguration })
        XCTAssertEqual(d.actions, [.tincRetry], "signals are local and still allowed")
        // With etcd reachable, or most peers reachable, the guard does not apply.
        state.registrySynced = true
        XCTAssertTrue(policy.decide(state, history: RepairHistory(), now: t0).actions.contains(.reinstallHostKeys))
    }

    func testNoRestartCommandMeansNoRestart() {
        var state = healthy()
        state.tincdRunning = false
        let d = RepairPolicy(settings: RepairPolicy.Settings()).decide(state, history: RepairHistory(), now: t0)
        XCTAssertEqual(d.actions, [])
        XCTAssertEqual(d.skipped.map(\.reason), [.noRestartCommand])
    }

    func testScoreWeights() {
        var state = healthy()
        state.sessions[0].established = false
        state.sessions[0].state = "Active"
        // BGP part halves: 0.3 * 0.5 lost.
        XCTAssertEqual(HealthModel.evaluate(state).score, 0.85, accuracy: 0.0001)
        state = healthy()
        state.registrySynced = false
        XCTAssertEqual(HealthModel.evaluate(state).score, 0.95, accuracy: 0.0001)
        state = healthy()
        state.peers[0].hostFile = .missing
        XCTAssertEqual(HealthModel.evaluate(state).score, 0.95, accuracy: 0.0001)
    }
}
