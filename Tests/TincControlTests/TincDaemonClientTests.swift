import Foundation
import Glibc
import Logging
@testable import TincControl
import XCTest

/// The 1.0 client against a fake tincd (process probe + log file): pacing, caching, and every
/// failure that must come back as a typed error.
final class TincDaemonClientTests: XCTestCase {
    private var directory = ""
    private var fake: FakeTincDaemon!

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("daemon")
        fake = try FakeTincDaemon(logPath: directory + "/tincd.log")
        try "\(fake.pid)\n".write(toFile: directory + "/tincd.pid", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func client(interval: Duration = .seconds(5), spacing: Duration = .milliseconds(100),
                        timeout: Duration = .seconds(2), lock: String? = nil) -> TincDaemonClient {
        let configuration = TincDaemonClient.Configuration(
            net: "bgpmesh", directory: directory, pidfile: directory + "/tincd.pid", minimumDumpInterval: interval,
            signalSpacing: spacing, dumpTimeout: timeout, quietPeriod: .milliseconds(50), signalLockPath: lock)
        return TincDaemonClient(configuration: configuration, logger: Logger(label: "test"), probe: fake.probe)
    }

    func testDumpThenCachedWithinTheMinimumInterval() async throws {
        let client = client()
        let first = try await client.snapshot()
        XCTAssertFalse(first.fromCache)
        XCTAssertEqual(fake.signals, [SIGUSR2, SIGUSR1])
        XCTAssertEqual(first.dump.pid, fake.pid)
        XCTAssertEqual(first.dump.nodes.count, 3)
        XCTAssertEqual(first.dump.edges.count, 6)
        XCTAssertEqual(first.dump.subnets.count, 3)
        XCTAssertEqual(first.dump.connections.count, 2)
        XCTAssertEqual(first.dump.device?.totalBytesOut, 8279)
        XCTAssertEqual(first.dump.dialect, .tinc10)

        let second = try await client.snapshot()
        XCTAssertTrue(second.fromCache)
        XCTAssertEqual(second.capturedAt, first.capturedAt)
        XCTAssertGreaterThan(second.age(), .zero)
        XCTAssertEqual(fake.signals.count, 2, "no signal within the minimum interval")
        XCTAssertEqual(client.statistics, TincDaemonClient.Statistics(signalsSent: 2, dumps: 1, cacheHits: 1, failures: 0))
    }

    func testConcurrentRequestsShareOneDump() async throws {
        let client = client()
        let snapshots = try await withThrowingTaskGroup(of: TincSnapshot.self) { group in
            for _ in 0..<5 { group.addTask { try await client.snapshot() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(snapshots.filter { !$0.fromCache }.count, 1)
        XCTAssertEqual(fake.signals.count, 2)
    }

    func testSignalsAreSpacedAfterTheHandlerFinished() throws {
        let client = client(interval: .zero, spacing: .milliseconds(300))
        let started = ContinuousClock.now
        _ = try client.snapshotSync()
        _ = try client.snapshotSync()
        XCTAssertEqual(fake.signals, [SIGUSR2, SIGUSR1, SIGUSR2, SIGUSR1])
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(900), "three gaps of at least 300 ms")
    }

    func testInterleavedLog() throws {
        fake.behavior = .interleaved
        let snapshot = try client().snapshotSync()
        XCTAssertEqual(snapshot.dump.nodes.count, 3)
        XCTAssertEqual(snapshot.dump.connections.count, 2)
        XCTAssertEqual(snapshot.dump.unrecognizedLineCount, 0)
    }

    func testLogTruncatedDuringTheDumpIsReadFromTheStart() throws {
        try String(repeating: "2026-11-30 08:40:00 tinc.bgpmesh[424242]: filler\n", count: 200)
            .write(toFile: fake.logPath, atomically: false, encoding: .utf8)
        fake.behavior = .truncateBeforeWriting
        let snapshot = try client().snapshotSync()
        XCTAssertTrue(snapshot.logTruncatedDuringDump)
        XCTAssertEqual(snapshot.dump.nodes.count, 3)
    }

    func testLogRenamedBetweenDumpsIsATypedError() async throws {
        let client = client(interval: .zero)
        _ = try await client.snapshot()
        try fake.rotateByRename()
        do {
            _ = try await client.snapshot()
            XCTFail("expected logRotated")
        } catch {
            guard case .logRotated(let path, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, fake.logPath)
            XCTAssertTrue(detail.contains("tincd.log.1"), detail)
            XCTAssertTrue(error.description.contains("SIGHUP"), error.description)
        }
        XCTAssertEqual(fake.signals.count, 2, "no signal once the log is known to be elsewhere")
    }

    func testSilentDaemonTimesOut() throws {
        fake.behavior = .silent
        let started = ContinuousClock.now
        XCTAssertThrowsError(try client(timeout: .milliseconds(400)).snapshotSync()) { error in
            guard case .dumpTimeout(let signal, let pid, _, _, let missing, _)? = error as? TincControlError else { return XCTFail("\(error)") }
            XCTAssertEqual(signal, "SIGUSR2")
            XCTAssertEqual(pid, self.fake.pid)
            XCTAssertEqual(missing, ["nodes", "edges", "subnets"])
        }
        // The .dumpTimeout above is the deadline firing; it cannot fire early.
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(400))
    }

    /// A tincd that dies while a dump waits for it (a hung tincd killed by the repair) ends the
    /// wait at once, well before the dump timeout: the dump holds the signal lock meanwhile.
    func testADaemonThatDiesMidDumpEndsTheWaitAtOnce() throws {
        fake.behavior = .silent
        let fake = self.fake!
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { fake.alive = false }
        let started = ContinuousClock.now
        XCTAssertThrowsError(try client(timeout: .seconds(10)).snapshotSync()) { error in
            guard case .daemonExited(let pid, let during)? = error as? TincControlError else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, fake.pid)
            XCTAssertEqual(during, "SIGUSR2")
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10), "the wait ran into the dump timeout")
    }

    func testHalfDumpNamesTheMissingBlocks() throws {
        fake.behavior = .halfDump
        XCTAssertThrowsError(try client(timeout: .milliseconds(400)).snapshotSync()) { error in
            guard case .dumpTimeout(_, _, _, _, let missing, let bytes)? = error as? TincControlError else { return XCTFail("\(error)") }
            XCTAssertEqual(missing, ["edges", "subnets"])
            XCTAssertGreaterThan(bytes, 0)
        }
    }

    func testFailureIsNotRetriedWithinTheInterval() throws {
        fake.behavior = .silent
        let client = client(timeout: .milliseconds(200))
        XCTAssertThrowsError(try client.snapshotSync())
        let signals = fake.signals.count
        XCTAssertThrowsError(try client.snapshotSync())
        XCTAssertEqual(fake.signals.count, signals, "the failure is served again without signalling")
        XCTAssertEqual(client.statistics.failures, 1)
    }

    func testDeadPid() throws {
        fake.alive = false
        XCTAssertThrowsError(try client().snapshotSync()) { error in
            XCTAssertEqual(error as? TincControlError, .notRunning(pid: fake.pid, pidfile: directory + "/tincd.pid"))
            XCTAssertTrue("\(error)".contains("stale pidfile"))
        }
        XCTAssertEqual(fake.signals, [])
    }

    func testRealDeadPidfile() throws {
        // A pid that certainly does not exist (above pid_max), through the real /proc probe.
        try "4194305\n".write(toFile: directory + "/dead.pid", atomically: true, encoding: .utf8)
        let client = TincDaemonClient(configuration: .init(pidfile: directory + "/dead.pid"))
        XCTAssertThrowsError(try client.daemonInfo()) { error in
            XCTAssertEqual(error as? TincControlError, .notRunning(pid: 4_194_305, pidfile: directory + "/dead.pid"))
        }
    }

    func testReusedPidIsNeverSignalled() throws {
        fake.command = "postgres"
        XCTAssertThrowsError(try client().snapshotSync()) { error in
            XCTAssertEqual(error as? TincControlError, .notTincd(pid: fake.pid, command: "postgres"))
        }
        XCTAssertEqual(fake.signals, [])
    }

    func testPidfileProblems() throws {
        try FileManager.default.removeItem(atPath: directory + "/tincd.pid")
        XCTAssertThrowsError(try client().daemonInfo()) { error in
            XCTAssertEqual(error as? TincControlError, .pidfile(path: directory + "/tincd.pid", call: "open", errno: ENOENT))
        }
        try "garbage".write(toFile: directory + "/tincd.pid", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try client().daemonInfo()) { error in
            guard case .malformedPidfile? = error as? TincControlError else { return XCTFail("\(error)") }
        }
        try "42 abcd 127.0.0.1 port 655\n".write(toFile: directory + "/tincd.pid", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try client().daemonInfo()) { error in
            XCTAssertEqual(error as? TincControlError, .wrongVersion(pidfile: directory + "/tincd.pid", expected: "1.0", found: "1.1"))
        }
    }

    func testSyslogIsOneClearError() throws {
        fake.setArguments(["/usr/sbin/tincd", "-n", "bgpmesh"])
        let client = client()
        XCTAssertThrowsError(try client.daemonInfo()) { error in
            XCTAssertEqual(error as? TincControlError, .logNotAFile(pid: fake.pid, destination: .syslog))
        }
        XCTAssertThrowsError(try client.snapshotSync())
        fake.setArguments(["/usr/sbin/tincd", "-n", "bgpmesh", "-D"])
        XCTAssertThrowsError(try client.daemonInfo()) { error in
            XCTAssertEqual(error as? TincControlError, .logNotAFile(pid: fake.pid, destination: .stderr))
            XCTAssertTrue("\(error)".contains("journal"), "\(error)")
        }
        XCTAssertEqual(fake.signals, [], "never signalled when the dump cannot be read")
    }

    func testReloadRetryPurge() async throws {
        let client = client(spacing: .milliseconds(50))
        try await client.reload()
        try await client.retry()
        try await client.purge()
        XCTAssertEqual(fake.signals, [SIGHUP, SIGALRM, SIGWINCH])
    }

    func testSignalLockIsHonoured() throws {
        let lockPath = directory + "/tincd.signal.lock"
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        let client = client(timeout: .milliseconds(100), lock: lockPath)
        XCTAssertThrowsError(try client.snapshotSync()) { error in
            guard case .lockTimeout? = error as? TincControlError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(fake.signals, [])
        close(fd)
        XCTAssertEqual(try self.client(interval: .zero, lock: lockPath).snapshotSync().dump.nodes.count, 3)
    }
}
