import BIRDControl
import Exposition
import Foundation
import Glibc
import Logging
import POSIXSupport
import TestSupport
import XCTest
@testable import MeshAgent

/// bird_up follows the real BIRD process behind our socket at every scrape; a stopped BIRD
/// (accepts, never answers) is hung, and killVerified ends it.
final class BIRDLivenessTests: XCTestCase {
    var bird: RealBIRD!

    override func setUpWithError() throws {
        bird = try RealBIRD()
        try bird.start()
        waitUntil("BIRD wrote its pid file") { birdPid != nil }
    }

    override func tearDown() {
        // By the pid file, else by the socket: a BIRD left behind keeps the test lock's descriptor.
        if let pid = birdPid ?? bird.map({ BIRDProcessLocator(socketPath: $0.socketPath).locate() }) ?? nil {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
        }
        bird?.stop()
        bird = nil
    }

    var birdPid: Int32? {
        (try? String(contentsOfFile: bird.pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func sampler(timeout: Duration = .seconds(2)) -> BIRDSampler {
        let client = BIRDClient(configuration: .init(socketPath: bird.socketPath, restricted: true, timeout: timeout))
        return BIRDSampler(client: client, history: BGPSessionHistory(), clock: ManualClock().clock,
                           process: BIRDProcessLocator(socketPath: bird.socketPath, rescanInterval: .zero), logger: Logger(label: "test"))
    }

    func testTheLocatorFindsTheBIRDOfOurSocketOnly() throws {
        let pid = try XCTUnwrap(birdPid)
        XCTAssertEqual(BIRDProcessLocator(socketPath: bird.socketPath).locate(), pid)
        XCTAssertNil(BIRDProcessLocator(socketPath: bird.directory + "/other.ctl").locate())
        XCTAssertNil(BIRDProcessLocator(socketPath: bird.directory + "/other.ctl").running(),
                     "a BIRD never seen (another pid namespace, a fake socket) is unknown, not dead")
        XCTAssertEqual(BIRDProcessLocator(socketPath: bird.socketPath).running(), true)
        XCTAssertEqual(BIRDProcessLocator.socket(arguments: ["bird", "-c", "x.conf", "-s", "/a.ctl"]), "/a.ctl")
        XCTAssertEqual(BIRDProcessLocator.socket(arguments: ["bird", "-s/b.ctl", "-P", "p"]), "/b.ctl")
        XCTAssertNil(BIRDProcessLocator.socket(arguments: ["bird", "-c", "-s"]), "-s is the argument of -c here")
    }

    func testBIRDUpIsZeroAtTheFirstScrapeAfterBIRDDied() async throws {
        let s = sampler()
        await s.poll(detailed: true)
        let collector = BIRDCollector(sampler: s, compat: false)
        let before = try await collector.collect()
        XCTAssertEqual(Families.value(before, "bird_up"), 1)
        let pid = try XCTUnwrap(birdPid)
        kill(pid, SIGKILL)
        await waitUntil("BIRD \(pid) is gone") { !ProcessInspection.isAlive(pid) }
        // No poll since: the snapshot still says up, the process check does not.
        let after = try await collector.collect()
        XCTAssertEqual(Families.value(after, "bird_up"), 0)
        XCTAssertEqual(s.processRunning, false)
    }

    func testAStoppedBIRDIsHungAndKillVerifiedEndsIt() async throws {
        let s = sampler(timeout: .milliseconds(300))
        let first = await s.poll()
        XCTAssertTrue(first)
        XCTAssertFalse(s.hung)
        let pid = try XCTUnwrap(birdPid)
        kill(pid, SIGSTOP)
        await waitUntil("BIRD is stopped") { ProcessInspection.state(pid) == "T" }
        let stopped = await s.poll()
        XCTAssertFalse(stopped, "a stopped BIRD cannot answer")
        XCTAssertTrue(s.hung, "the socket accepted but BIRD did not answer within the timeout")
        XCTAssertEqual(s.processRunning, true)
        let families = try await BIRDCollector(sampler: s, compat: false).collect()
        XCTAssertEqual(Families.value(families, "bird_up"), 0)

        let result = try await s.process?.killVerified()
        let killed = try XCTUnwrap(result)
        XCTAssertEqual(killed, pid)
        XCTAssertFalse(ProcessInspection.isAlive(pid))
        XCTAssertFalse(s.hung, "no BIRD runs, so none is hung")
        XCTAssertEqual(s.processRunning, false)
    }
}
