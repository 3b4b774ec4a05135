@testable import BIRDControl
import Foundation
import Glibc
import XCTest

/// The client against a real BIRD 2 started in a temporary directory (no kernel protocol, so it
/// touches no routes and needs no namespace).
final class RealBIRDTests: XCTestCase {
    private static let birdPath = "/usr/sbin/bird"
    private var directory = ""
    private var socketPath: String { directory + "/bird.ctl" }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.birdPath) else {
            throw XCTSkip("SKIPPED LOUDLY: \(Self.birdPath) is missing; install the bird2 package to run the real-BIRD tests")
        }
        directory = "/tmp/birdctl-real-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
        router id 192.0.2.9;
        log "\(directory)/bird.log" all;
        protocol device {}
        protocol static { ipv4; route 203.0.113.0/24 blackhole; }

        """
        try config.write(toFile: directory + "/bird.conf", atomically: true, encoding: .utf8)
        try startBIRD()
    }

    override func tearDown() {
        stopBIRD()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts BIRD (it daemonizes; the pid file names the daemon) and waits for its socket.
    /// posix_spawn, not Foundation's Process: the daemon would inherit Process's exit-watch socket,
    /// and waitUntilExit would never return.
    private func startBIRD() throws {
        let arguments = [Self.birdPath, "-c", directory + "/bird.conf", "-s", socketPath, "-P", directory + "/bird.pid"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Test threads (dispatch workers) block most signals and ignore SIGPIPE; a spawned child
        // inherits both, and a BIRD with SIGTERM blocked would never stop. Reset them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Self.birdPath, nil, &attributes, &argv, environ)
        guard spawned == 0 else { throw XCTSkip("cannot start bird: posix_spawn error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw XCTSkip("bird exited with status \(status)") }
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: socketPath) { return }
            usleep(10_000)
        }
        XCTFail("BIRD did not create its socket")
    }

    /// Stops the BIRD this test started, by the pid from its own pid file.
    private func stopBIRD() {
        guard let text = try? String(contentsOfFile: directory + "/bird.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { return }
        kill(pid, SIGTERM)
        var stopped = false
        for _ in 0..<300 {
            // Gone, or a zombie waiting for init (our parent-less daemon is not our child to reap).
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if kill(pid, 0) != 0 || stat.contains(") Z ") { stopped = true; break }
            usleep(10_000)
        }
        if !stopped {
            XCTFail("BIRD \(pid) ignored SIGTERM for 3 s; killing it")
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory + "/bird.pid")
    }

    func testRestrictedSessionReadsEverything() async throws {
        let client = BIRDClient(socketPath: socketPath, restricted: true, timeout: .seconds(5))
        let status = try await client.status()
        XCTAssertTrue(status.version.hasPrefix("2."))
        XCTAssertEqual(status.routerID, "192.0.2.9")
        XCTAssertEqual(status.daemonState, .up)
        XCTAssertNotNil(status.serverTime)
        XCTAssertLessThan(abs(status.serverTime!.timeIntervalSinceNow), 60)
        let protocols = try await client.protocols(all: true)
        XCTAssertEqual(protocols.protocols.map(\.name), ["device1", "static1"])
        XCTAssertEqual(protocols.unrecognizedLines, 0)
        let ipv4 = try XCTUnwrap(protocols["static1"]?.channel("ipv4"))
        XCTAssertEqual(ipv4.routes, BIRDRouteCounters(imported: 1, filtered: nil, exported: 0, preferred: 1))
        XCTAssertEqual(ipv4.stats?.importWithdraws.filtered, nil)
        XCTAssertLessThan(abs(protocols["static1"]!.since!.timeIntervalSinceNow), 60)
        let count = try await client.routeCount()
        XCTAssertEqual(count["master4"]?.routes, 1)
        let memory = try await client.memory()
        XCTAssertGreaterThan(memory.total?.effectiveBytes ?? 0, 1000)
        let bfd = try await client.bfdSessions()
        XCTAssertEqual(bfd, BIRDBFDSessions())
        do {
            _ = try await client.protocols(matching: "\"nosuch*\"")
            XCTFail("expected 8003")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8003, text: "No protocols match", command: "show protocols all \"nosuch*\""))
        }
        XCTAssertEqual(client.statistics.connects, 1)
    }

    func testMutatingCommandOverRestrictedSessionIsDenied() async throws {
        let client = BIRDClient(socketPath: socketPath, restricted: true)
        do {
            try await client.disable(protocol: "static1")
            XCTFail("a restricted session disabled a protocol")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8007, text: "Access denied", command: "disable static1"))
        }
        do {
            try await client.configure()
            XCTFail("a restricted session reconfigured BIRD")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8007, text: "Access denied", command: "configure"))
        }
        let protocols = try await client.protocols(all: false)
        XCTAssertEqual(protocols["static1"]?.state, .up)
    }

    func testUnrestrictedSessionRepairs() async throws {
        let repair = BIRDClient(socketPath: socketPath, restricted: false)
        let disabled = try await repair.disable(protocol: "static1")
        XCTAssertEqual(disabled.texts.first, "static1: disabled")
        XCTAssertEqual(disabled.lines.first?.code, 9)
        let reader = BIRDClient(socketPath: socketPath)
        let afterDisable = try await reader.protocols(all: false)
        XCTAssertEqual(afterDisable["static1"]?.state, .down)
        let enabled = try await repair.enable(protocol: "static1")
        XCTAssertEqual(enabled.texts.first, "static1: enabled")
        let restarted = try await repair.restart(protocol: "static1")
        XCTAssertEqual(restarted.texts.first, "static1: restarted")
        let configured = try await repair.configure(file: directory + "/bird.conf")
        XCTAssertTrue([3, 4, 19, 0].contains(configured.code), "\(configured.texts)")
    }

    func testReconnectsAfterBIRDRestartsWithoutLeaks() async throws {
        let client = BIRDClient(socketPath: socketPath, timeout: .seconds(2))
        _ = try await client.status()
        let before = openFileDescriptorCount()

        stopBIRD()
        do {
            _ = try await client.status()
            XCTFail("status succeeded with BIRD stopped")
        } catch {
            switch error {
            case .connect, .closed, .io: break
            default: XCTFail("unexpected error \(error)")
            }
        }
        for _ in 0..<20 {
            do {
                _ = try await client.status()
                XCTFail("status succeeded with BIRD stopped")
            } catch {}
        }
        XCTAssertFalse(client.isConnected)
        try startBIRD()
        let status = try await client.status()
        XCTAssertEqual(status.routerID, "192.0.2.9")
        XCTAssertEqual(client.statistics.connects, 2)
        for _ in 0..<50 { _ = try await client.protocols(all: true) }
        XCTAssertEqual(openFileDescriptorCount(), before, "descriptors leaked")
    }
}
