import BIRDControl
import Foundation
import Glibc
import Logging
@testable import MeshAgent
import POSIXSupport
import TestSupport
import TincControl
import XCTest

/// Hung daemons: the health kinds and the policy's ladder (pure), the alerts that map to it,
/// and the whole loop against a real SIGSTOPped tincd and BIRD: found hung, killed by pid after
/// the identity check, started again with the restart command.
final class HungDaemonRepairTests: XCTestCase {
    let t0 = ContinuousClock.now

    func policy(tincd: Bool = true, bird: Bool = true) -> RepairPolicy {
        var s = RepairPolicy.Settings()
        s.canRestartTincd = tincd
        s.canRestartBIRD = bird
        return RepairPolicy(settings: s)
    }

    /// node2's view with a stopped tincd: peers unreachable, sessions down, probes failing.
    func stoppedTincd() -> MeshState {
        var state = MeshState(node: "node2",
                              peers: [.init(name: "node1", alive: true, tincReachable: false, unreachableFor: 30, probeUp: false, probeLoss: 1)],
                              sessions: [.init(name: "node1", peer: "node1", state: "Active", established: false, downFor: 30)],
                              tincdRunning: true, birdUp: true, registrySynced: true)
        state.tincdHung = true
        return state
    }

    func testAHungTincdIsItsOwnProblemAndItsRepairIsTheOnlyTincAction() {
        let report = HealthModel.evaluate(stoppedTincd())
        XCTAssertTrue(report.problems.contains { $0.kind == .tincdHung })
        XCTAssertFalse(report.problems.contains { $0.kind == .tincdDown }, "hung is not down")
        let decision = policy().decide(stoppedTincd(), history: RepairHistory(), now: t0, immediate: true)
        XCTAssertEqual(decision.actions, [.restartHungTincd], "no ALRM/HUP to a tincd that cannot take signals, no BGP restart")
        let without = policy(tincd: false).decide(stoppedTincd(), history: RepairHistory(), now: t0)
        XCTAssertEqual(without.actions, [])
        XCTAssertEqual(without.skipped.map(\.reason), [.noRestartCommand], "never killed without a way to start it again")
    }

    func testAHungBIRDAndAGoneBIRD() {
        var hung = MeshState(node: "node2", tincdRunning: true, birdUp: false, registrySynced: true)
        hung.birdHung = true
        hung.birdRunning = true
        let report = HealthModel.evaluate(hung)
        XCTAssertEqual(report.problems.map(\.kind), [.birdHung])
        XCTAssertEqual(policy().decide(hung, history: RepairHistory(), now: t0).actions, [.restartHungBIRD])

        var gone = MeshState(node: "node2", tincdRunning: true, birdUp: false, registrySynced: true)
        gone.birdRunning = false
        XCTAssertEqual(HealthModel.evaluate(gone).problems.map(\.kind), [.birdDown])
        XCTAssertEqual(policy().decide(gone, history: RepairHistory(), now: t0).actions, [.restartBIRD])
        XCTAssertEqual(policy(bird: false).decide(gone, history: RepairHistory(), now: t0).skipped.map(\.reason), [.noRestartCommand])
        // BIRD's process runs but the last poll failed (not a timeout): reported, not restarted.
        var refusing = MeshState(node: "node2", tincdRunning: true, birdUp: false, registrySynced: true)
        refusing.birdRunning = true
        XCTAssertEqual(policy().decide(refusing, history: RepairHistory(), now: t0).actions, [])
    }

    /// The alerts a stopped tincd fired at its node in the trial, each mapped to the repair.
    func testTheAlertsOfAHungNodeMapToTheRepair() {
        for alert in ["MeshPeerUnreachable", "BGPSessionDown", "MeshPeerHighLoss", "MeshHealthDegraded"] {
            let request = RepairRequest(trigger: .webhook, kind: alert, target: alert == "BGPSessionDown" ? "node1" : nil)
            let allowed = RepairController.actions(for: request)
            XCTAssertTrue(allowed?(.restartHungTincd) ?? true, alert)
            XCTAssertTrue(allowed?(.restartHungBIRD) ?? true, alert)
        }
        XCTAssertFalse(RepairController.actions(for: RepairRequest(trigger: .webhook, kind: "HostKeyMissing"))?(.restartHungTincd) ?? true)
    }

    // MARK: real daemons

    var tincd: RealTincd?
    var bird: RealBIRD?

    override func tearDown() {
        // The restarted daemons are not our children: stopped by the pid in their pid files.
        for file in [tincd?.pidfile, bird?.pidFile].compactMap({ $0 }) {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
               let pid = Int32(text.split(separator: " ").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""), pid > 1,
               pid != tincd?.pid {
                kill(pid, SIGCONT)
                kill(pid, SIGTERM)
            }
        }
        tincd?.stop()
        bird?.stop()
    }

    func controller(sources: MeshStateSources, executor: RepairExecutor, tincd: Bool = false, bird: Bool = false) -> RepairController {
        var settings = RepairController.Settings()
        settings.mode = .on
        settings.policy.canRestartTincd = tincd
        settings.policy.canRestartBIRD = bird
        var logger = Logger(label: "hung-test")
        logger.logLevel = .critical
        return RepairController(settings: settings, sources: sources, executor: executor, logger: logger)
    }

    func audit(_ controller: RepairController) async throws -> [[String: Any]] {
        let body = await controller.statusJSON()
        let status = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try XCTUnwrap(status["recent_actions"] as? [[String: Any]])
    }

    func testAStoppedTincdIsKilledAndStartedAgainOnAWebhookAlert() async throws {
        let tincd = try RealTincd()
        self.tincd = tincd
        // Detached, as under a service manager: a killed tincd is reaped by its parent, not left a
        // zombie that the new tincd's own "already running" check (kill(pid, 0)) would see.
        try tincd.start(detached: true)
        let client = TincDaemonClient(configuration: .init(
            net: tincd.net, directory: tincd.configDirectory, pidfile: tincd.pidfile, logfile: tincd.logfile,
            minimumDumpInterval: .milliseconds(100), signalSpacing: .milliseconds(100), dumpTimeout: .milliseconds(500),
            quietPeriod: .milliseconds(50)))
        let state = TincDumpState(process: { try? client.verifiedProcess().pid })
        let sampler = TincDumpSampler(client: client, state: state, interval: .seconds(60), logger: Logger(label: "test"))
        // Started again the way a service manager would (tincd detaches; the same pidfile and log).
        let restart = "\(RealTincd.path) -n \(tincd.net) -c \(tincd.configDirectory) --logfile=\(tincd.logfile) --pidfile=\(tincd.pidfile)"
        let executor = RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: restart, tincd: client)
        let repair = controller(sources: MeshStateSources(tinc: state), executor: executor, tincd: true)

        await sampler.poll()
        XCTAssertFalse(state.daemonHung)
        let stopped = tincd.pid
        kill(stopped, SIGSTOP)
        await waitUntil("tincd is stopped") { ProcessInspection.state(stopped) == "T" }
        await waitUntil("the sampler finds tincd hung") {
            await sampler.poll()
            return state.daemonHung
        }
        let submission = await repair.submit(RepairRequest(trigger: .webhook, kind: "MeshPeerUnreachable", alertKey: "k1"))
        guard case .queued = submission else { return XCTFail("\(submission)") }
        await repair.tick()

        let entries = try await audit(repair)
        XCTAssertEqual(entries.first?["action"] as? String, "restart_hung_tincd", "\(entries)")
        XCTAssertEqual(entries.first?["trigger"] as? String, "webhook", "the alert's request, before the loop's own")
        XCTAssertEqual(entries.first?["result"] as? String, "ok", "\(entries)")
        XCTAssertFalse(ProcessInspection.isAlive(stopped))
        await waitUntil("a new tincd of this net runs") { (try? client.verifiedProcess().pid).map { $0 != stopped } ?? false }
        XCTAssertFalse(state.daemonHung, "the new tincd is not the hung pid")
    }

    func testAStoppedBIRDIsKilledAndStartedAgain() async throws {
        let bird = try RealBIRD()
        self.bird = bird
        try bird.start()
        func pid() -> Int32? {
            (try? String(contentsOfFile: bird.pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        await waitUntil("BIRD wrote its pid file") { pid() != nil }
        let first = try XCTUnwrap(pid())
        let locator = BIRDProcessLocator(socketPath: bird.socketPath, rescanInterval: .zero)
        let client = BIRDClient(configuration: .init(socketPath: bird.socketPath, restricted: true, timeout: .milliseconds(300)))
        let sampler = BIRDSampler(client: client, history: BGPSessionHistory(), process: locator, logger: Logger(label: "test"))
        let restart = "\(RealBIRD.path) -c \(bird.directory)/bird.conf -s \(bird.socketPath) -P \(bird.pidFile)"
        let executor = RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: nil, birdProcess: locator,
                                      birdRestartCommand: restart)
        let repair = controller(sources: MeshStateSources(bird: sampler), executor: executor, bird: true)

        let answered = await sampler.poll()
        XCTAssertTrue(answered)
        kill(first, SIGSTOP)
        await waitUntil("BIRD is stopped") { ProcessInspection.state(first) == "T" }
        let stoppedPoll = await sampler.poll()
        XCTAssertFalse(stoppedPoll)
        XCTAssertTrue(sampler.hung)
        await repair.tick()

        let entries = try await audit(repair)
        XCTAssertEqual(entries.first?["action"] as? String, "restart_hung_bird", "\(entries)")
        XCTAssertEqual(entries.first?["result"] as? String, "ok", "\(entries)")
        XCTAssertFalse(ProcessInspection.isAlive(first))
        await waitUntil("the new BIRD answers") { await sampler.poll() }
        XCTAssertNotEqual(locator.locate(), first)
        XCTAssertFalse(sampler.hung)
    }
}
