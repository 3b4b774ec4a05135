import Foundation
import Glibc
import Logging
import POSIXSupport
@testable import MeshAgent
import TestSupport
import TincControl
import XCTest

/// tinc_up and the health model's tincd state follow the real process (pidfile, live pid, this
/// net's tincd) at every read, not the last dump; a stopped tincd is hung, not down.
final class TincLivenessTests: XCTestCase {
    var tincd: RealTincd!

    override func setUpWithError() throws {
        tincd = try RealTincd()
        try tincd.start()
    }

    override func tearDown() {
        tincd?.stop()
        tincd = nil
    }

    func client(net: String = "bgpmesh", directory: String? = nil, dumpTimeout: Duration = .seconds(5)) -> TincDaemonClient {
        TincDaemonClient(configuration: .init(
            net: net, directory: directory ?? tincd.configDirectory, pidfile: tincd.pidfile, logfile: tincd.logfile,
            minimumDumpInterval: .seconds(60), signalSpacing: .milliseconds(100), dumpTimeout: dumpTimeout, quietPeriod: .milliseconds(50)))
    }

    func testASIGKILLedTincdIsDownAtTheNextReadNotAfterTheNextDump() async throws {
        let client = client()
        let state = TincDumpState(process: { try? client.verifiedProcess().pid })
        let sampler = TincDumpSampler(client: client, state: state, interval: .seconds(60), logger: Logger(label: "test"))
        let collector = TincCollector(client: client, dumps: state)
        await sampler.poll()
        XCTAssertTrue(collector.read().running)
        XCTAssertEqual(state.daemonRunning, true)
        XCTAssertNotNil(state.reachableNodes(maxAge: .seconds(60)), "the first dump worked")

        kill(tincd.pid, SIGKILL)
        // Not reaped yet: a zombie, which kill(pid, 0) still finds.
        await waitUntil("tincd \(tincd.pid) is a zombie") { ProcessInspection.state(tincd.pid) == "Z" }
        XCTAssertFalse(collector.read().running, "tinc_up must be 0 at the first scrape after tincd died")
        XCTAssertEqual(state.daemonRunning, false)
        // A poll within the minimum dump interval must not bring the old dump back as current.
        await sampler.poll()
        XCTAssertFalse(collector.read().running)
        XCTAssertFalse(state.state.withLock { $0.running }, "the sampler served the cached dump of a dead tincd")
        tincd.reap()
        XCTAssertFalse(collector.read().running)
    }

    func testOnlyThisNetsTincdCounts() throws {
        XCTAssertEqual(try client().verifiedProcess().pid, tincd.pid)
        // The same pidfile read by an agent of another net (another -c directory).
        let other = client(net: "othernet", directory: tincd.directory)
        XCTAssertThrowsError(try other.verifiedProcess()) { error in
            guard case .otherNet(let pid, _)? = error as? TincControlError else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, tincd.pid)
        }
        let state = TincDumpState(process: { try? other.verifiedProcess().pid })
        XCTAssertEqual(state.daemonRunning, false)
        XCTAssertFalse(TincCollector(client: other, dumps: state).read().running)
    }

    func testAStoppedTincdIsHungNotDownAndKillVerifiedEndsIt() async throws {
        let client = client(dumpTimeout: .milliseconds(500))
        let state = TincDumpState(process: { try? client.verifiedProcess().pid })
        let sampler = TincDumpSampler(client: client, state: state, interval: .seconds(60), logger: Logger(label: "test"))
        await sampler.poll()
        XCTAssertFalse(state.daemonHung)
        kill(tincd.pid, SIGSTOP)
        await waitUntil("tincd is stopped") { ProcessInspection.state(tincd.pid) == "T" }
        // The next dump (a new client: the first one paces its dumps) times out on the stopped tincd.
        let fresh = self.client(dumpTimeout: .milliseconds(500))
        let stoppedState = TincDumpState(process: { try? fresh.verifiedProcess().pid })
        await TincDumpSampler(client: fresh, state: stoppedState, interval: .seconds(60), logger: Logger(label: "test")).poll()
        guard case .dumpTimeout? = stoppedState.state.withLock({ $0.lastError }) else {
            return XCTFail("expected a dump timeout, got \(String(describing: stoppedState.state.withLock { $0.lastError }))")
        }
        XCTAssertTrue(stoppedState.daemonHung)
        XCTAssertEqual(stoppedState.daemonRunning, true, "a stopped tincd still runs: hung, not down")
        XCTAssertTrue(TincCollector(client: fresh, dumps: stoppedState).read().running)

        let killed = try await fresh.killVerified()
        XCTAssertEqual(killed, tincd.pid)
        XCTAssertEqual(stoppedState.daemonRunning, false)
        XCTAssertFalse(stoppedState.daemonHung, "the hung pid is gone")
        tincd.reap()
        let none = try await fresh.killVerified()
        XCTAssertNil(none, "nothing left to kill")
    }

    /// An ALRM the stopped tincd does not answer (the registry's reload, a repair's retry) makes
    /// it hung without waiting for the sampler's next dump; an answered one clears it.
    func testAnUnansweredALRMMakesTincdHungWithoutADump() async throws {
        let client = client(dumpTimeout: .milliseconds(500))
        let state = TincDumpState(process: { try? client.verifiedProcess().pid }, unanswered: { client.unansweredSignalPid })
        try await client.retry()
        XCTAssertNil(client.unansweredSignalPid)
        XCTAssertFalse(state.daemonHung)
        kill(tincd.pid, SIGSTOP)
        await waitUntil("tincd is stopped") { ProcessInspection.state(self.tincd.pid) == "T" }
        do {
            try await client.retry()
            XCTFail("a stopped tincd answered ALRM")
        } catch {
            guard case .dumpTimeout(let signal, _, _, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(signal, "SIGALRM")
        }
        XCTAssertEqual(client.unansweredSignalPid, tincd.pid)
        XCTAssertTrue(state.daemonHung, "no dump was taken: the ALRM alone tells")
        // The next HUP or ALRM to the same tincd is not sent and costs no second timeout: the
        // repair loop, queued behind the registry's signal, must not wait out another one.
        for signal in ["SIGALRM", "SIGHUP"] {
            do {
                if signal == "SIGALRM" { try await client.retry() } else { try await client.reload() }
                XCTFail("\(signal) to a tincd that left the last signal unanswered was sent")
            } catch {
                guard case .unanswered(let pid, let sent) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(pid, tincd.pid)
                XCTAssertEqual(sent, signal)
            }
        }
        // The mark holds for two dump timeouts only (where no dump clears it, signals are tried
        // again): after that an ALRM is really sent, and times out again.
        try await Task.sleep(for: .milliseconds(1_100))
        do {
            try await client.retry()
            XCTFail("a stopped tincd answered ALRM")
        } catch {
            guard case .dumpTimeout = error else { return XCTFail("after the window the ALRM is sent again: \(error)") }
        }
        kill(tincd.pid, SIGCONT)
        // A dump still goes through, and one that is answered clears the mark.
        _ = try await client.snapshot()
        XCTAssertNil(client.unansweredSignalPid, "an answered dump clears it")
        XCTAssertFalse(state.daemonHung)
        try await client.retry()
    }
}
