@testable import MeshAgent
import XCTest

/// The repair ladder's memory over a fault's whole episode, on a pure clock: the controller's
/// round (decide, record, advance) replayed second by second.
final class RepairEpisodeTests: XCTestCase {
    let t0 = ContinuousClock.now
    let settings: RepairPolicy.Settings = {
        var s = RepairPolicy.Settings()
        s.canRestartTincd = true
        return s
    }()

    /// node2 alive in the registry but unreachable in tinc; node3 fine.
    func unreachable(for seconds: Int) -> MeshState {
        MeshState(node: "node1",
                  peers: [.init(name: "node2", alive: true, tincReachable: false, unreachableFor: Double(seconds), probeUp: false, probeLoss: 1),
                          .init(name: "node3", alive: true, tincReachable: true, probeUp: true, probeLoss: 0)],
                  sessions: [], tincdRunning: true, birdUp: true, registrySynced: true)
    }

    func healthy() -> MeshState {
        var state = unreachable(for: 0)
        state.peers[0] = .init(name: "node2", alive: true, tincReachable: true, probeUp: true, probeLoss: 0)
        return state
    }

    /// Runs the controller's rounds every second from `start` for `seconds`; returns the actions with their second.
    func run(_ history: inout RepairHistory, from start: Int, seconds: Int, state: (Int) -> MeshState) -> [(Int, RepairAction)] {
        let policy = RepairPolicy(settings: settings)
        var actions: [(Int, RepairAction)] = []
        for second in start..<(start + seconds) {
            let now = t0 + .seconds(second)
            let decision = policy.decide(state(second), history: history, now: now)
            for action in decision.actions {
                history.record(action, at: now)
                actions.append((second, action))
            }
            history.advance(needed: decision.needed, at: now, clear: settings.episodeClear, window: settings.window)
        }
        return actions
    }

    func testOneLastingFaultGivesAHandfulOfActionsInTenMinutes() {
        var history = RepairHistory()
        let actions = run(&history, from: 0, seconds: 600) { self.unreachable(for: 100 + $0) }
        // Before the episodes (attempts forgotten a minute after the last one) this was 50.
        print("repair actions in 10 minutes for one alive-but-unreachable peer: \(actions.count) (before: 50); "
              + actions.map { "\($0.0)s \($0.1)" }.joined(separator: ", "))
        XCTAssertLessThanOrEqual(actions.count, 6)
        XCTAssertEqual(actions.prefix(3).map(\.1), [.tincRetry, .tincRetry, .tincReload], "the ladder climbs once")
        XCTAssertEqual(Set(actions.dropFirst(3).map(\.1)), [.tincReload], "then stays at its top")
        let gaps = zip(actions.dropFirst(), actions).map { $0.0 - $1.0 }
        XCTAssertEqual(gaps, gaps.sorted(), "the waits never shrink within the episode: \(gaps)")
        XCTAssertGreaterThanOrEqual(gaps.last ?? 0, 240, "backed off well past repair.cooldown-max: \(gaps)")
    }

    func testTheBackoffIsCappedAtEpisodeBackoffMax() {
        var history = RepairHistory()
        let actions = run(&history, from: 0, seconds: 3 * 3600) { self.unreachable(for: 100 + $0) }
        let gaps = zip(actions.dropFirst(), actions).map { $0.0 - $1.0 }
        XCTAssertEqual(gaps.suffix(3), [900, 900, 900], "\(gaps)")
    }

    func testANewEpisodeAfterRecoveryStartsAtTheBottom() {
        var history = RepairHistory()
        let first = run(&history, from: 0, seconds: 300) { self.unreachable(for: 100 + $0) }
        XCTAssertEqual(first.last?.1, .tincReload)
        // Healthy for longer than repair.episode-clear: the episode ends.
        XCTAssertEqual(run(&history, from: 300, seconds: 121) { _ in self.healthy() }.count, 0)
        XCTAssertNil(history.episodes[RepairAction.tincRetry.ladder], "the episode ended after \(settings.episodeClear) without the problem")
        let second = run(&history, from: 421, seconds: 10) { self.unreachable(for: $0 - 421 + 4) }
        XCTAssertEqual(second.map(\.1), [.tincRetry, .tincRetry, .tincReload], "a new episode climbs from the bottom again")
        XCTAssertEqual(second.first?.0, 421, "and starts at once")
    }

    func testABriefRecoveryDoesNotResetTheLadder() {
        var history = RepairHistory()
        _ = run(&history, from: 0, seconds: 300) { self.unreachable(for: 100 + $0) }
        // Reachable for 30 s (less than repair.episode-clear), then unreachable again: the same episode.
        _ = run(&history, from: 300, seconds: 30) { _ in self.healthy() }
        let after = run(&history, from: 330, seconds: 60) { self.unreachable(for: $0 - 330 + 4) }
        XCTAssertFalse(after.contains { $0.1 == .tincRetry }, "a flapping fault does not climb the ladder again: \(after)")
        XCTAssertLessThanOrEqual(after.count, 1)
    }

    func testTheRateLimitStillApplies() {
        var s = settings
        s.maxActions = 1
        s.window = .seconds(60)
        let policy = RepairPolicy(settings: s)
        var history = RepairHistory()
        var state = unreachable(for: 100)
        state.connectToDrift = true
        let first = policy.decide(state, history: history, now: t0)
        XCTAssertEqual(first.actions.count, 1)
        for action in first.actions { history.record(action, at: t0) }
        history.advance(needed: first.needed, at: t0, clear: s.episodeClear, window: s.window)
        let second = policy.decide(state, history: history, now: t0 + .seconds(5))
        XCTAssertEqual(second.actions, [])
        XCTAssertTrue(second.skipped.contains { $0.reason == .rateLimited }, "\(second.skipped)")
    }
}
