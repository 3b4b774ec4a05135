import EtcdClient
import Foundation
import Logging
@testable import MeshAgent
import Synchronization
import TincControl
import XCTest

/// The rotating node's state machine against a real etcd and three real registry loops
/// (RegistrySyncTests' harness): node2 rotates, node1 and node3 are its peers. tincd is a
/// shell script as `repair.tincd-restart-command` that records each call and "starts" a new
/// pid; the rotation reads that pid.
extension RegistrySyncTests {
    /// The restart script's directory: `calls` (one line per restart), `pid` (the current pid),
    /// `fail-first` (present: the first restart fails, as a tincd refusing the new key).
    func restartDirectory() throws -> String {
        let dir = root + "/restart"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        #!/bin/sh
        dir=\(dir)
        echo restart >> "$dir/calls"
        if [ -e "$dir/fail-first" ]; then rm "$dir/fail-first"; exit 1; fi
        echo $(( $(cat "$dir/pid" 2>/dev/null || echo 100) + 1 )) > "$dir/pid"

        """.write(toFile: dir + "/restart.sh", atomically: true, encoding: .utf8)
        try "100\n".write(toFile: dir + "/pid", atomically: true, encoding: .utf8)
        return dir
    }

    func restartCalls(_ dir: String) -> Int {
        ((try? String(contentsOfFile: dir + "/calls", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The daemon as the agent wires it, with the script's pid file; `block` makes one of its
    /// calls hang (until the task is cancelled) to stop the rotation inside a phase.
    enum Block { case none, pid, restart, verify, rollbackRestart }

    final class Count: Sendable {
        let value = Mutex(0)
        var current: Int { value.withLock { $0 } }
    }

    func daemon(_ dir: String, block: Block = .none, alarms: Count? = nil) -> KeyRotation.Daemon {
        let runner = RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: nil, commandTimeout: .seconds(10))
        let restarts = Mutex(0)
        @Sendable func readPid() -> Int32? {
            (try? String(contentsOfFile: dir + "/pid", encoding: .utf8)).flatMap { Int32($0.split(separator: "\n").first ?? "") }
        }
        return KeyRotation.Daemon(
            pid: {
                if block == .pid { try? await Task.sleep(for: .seconds(3600)); return nil }
                // `verify`: tincd never comes back (the old pid stays).
                if block == .verify { return 100 }
                return readPid()
            },
            retry: { alarms?.value.withLock { $0 += 1 } },
            restart: { command in
                let count = restarts.withLock { $0 += 1; return $0 }
                if block == .restart || (block == .rollbackRestart && count == 2) {
                    try? await Task.sleep(for: .seconds(3600))
                    return "cancelled"
                }
                switch try? await runner.runCommand(command) {
                case .success?: return nil
                case .failure(let failure)?: return failure.description
                case nil: return "cancelled"
                }
            })
    }

    func rotation(_ node: String, restart dir: String, daemon: KeyRotation.Daemon, ackTimeout: Duration = .seconds(3600),
                  verifyTimeout: Duration = .seconds(10)) -> KeyRotation {
        let settings = KeyRotation.Settings(stateDirectory: stateDirectory(node), tincDirectory: "\(root!)/\(node)",
                                            restartCommand: "sh \(dir)/restart.sh", ackTimeout: ackTimeout, tick: .milliseconds(100),
                                            verifyTimeout: verifyTimeout)
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["BGPMESH_TEST_LOG"] == nil ? .critical : .info
        return KeyRotation(settings: settings, registry: running[node]!.sync, daemon: daemon,
                           metrics: RotationMetrics(now: { Date().timeIntervalSince1970 }), logger: logger, clock: clock.clock)
    }

    func startThreeNodes() async throws {
        for name in ["node1", "node2", "node3"] { _ = try makeNode(name) }
        for name in ["node1", "node2", "node3"] { try start(name) }
        try await eventually("every node has every host file") {
            ["node1", "node2", "node3"].allSatisfy { hostNames($0) == ["node1", "node2", "node3"] }
        }
        let sync = running["node2"]!.sync
        try await eventuallyAsync("node2 published") { await sync.publishedKeyFingerprint() != nil }
    }

    func key(in node: String, _ path: String) -> TincRSAPublicKey? {
        (try? TincHostFile(name: "x", text: file(node, path) ?? "").publicKey) ?? nil
    }

    func privateKeyFingerprint(_ node: String) -> String? {
        (try? TincRSAPrivateKey(contentsOfFile: "\(root!)/\(node)/rsa_key.priv"))?.publicKey.fingerprintSHA256
    }

    /// Everything agrees on node2's key: its key file, its own host file, its record in etcd,
    /// and each peer's host file and pin.
    func assertNode2Consistent(_ client: EtcdClient, file: StaticString = #filePath, line: UInt = #line) async throws {
        let fingerprint = try XCTUnwrap(privateKeyFingerprint("node2"), file: file, line: line)
        XCTAssertEqual(key(in: "node2", "hosts/node2")?.fingerprintSHA256, fingerprint, "node2's own host file", file: file, line: line)
        try await eventuallyAsync("node2's record carries its key", file: file, line: line) {
            (try? await ownRecord("node2", client))?.fingerprintSHA256 == fingerprint
        }
        for peer in ["node1", "node3"] {
            try await eventually("\(peer) holds node2's key", file: file, line: line) {
                key(in: peer, "hosts/node2")?.fingerprintSHA256 == fingerprint
                    && (try? PinStore.load(directory: stateDirectory(peer)))?["node2"]?.fingerprintSHA256 == fingerprint
            }
        }
        XCTAssertEqual(try RotationState.load(directory: stateDirectory("node2")).current, nil, file: file, line: line)
        for leftover in [RotationState.newKeyFileName, RotationState.oldKeyFileName, RotationState.oldHostFileName] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: stateDirectory("node2") + "/" + leftover), leftover, file: file, line: line)
        }
    }

    /// Runs `rotation`, starts one, waits for its end and stops the loop; the final status.
    func rotateToEnd(_ rotation: KeyRotation) async throws -> KeyRotation.Status {
        let task = Task { await rotation.run() }
        defer { task.cancel() }
        let id = try await rotation.start()
        try await eventuallyAsync("the rotation ends", seconds: 30) { await rotation.status().lastID == id }
        return await rotation.status()
    }

    func runUntilIdle(_ rotation: KeyRotation, what: String) async throws -> Task<Void, Never> {
        let task = Task { await rotation.run() }
        try await eventuallyAsync(what, seconds: 30) {
            let status = await rotation.status()
            return status.phase == "idle" && status.lastID != nil
        }
        return task
    }

    // MARK: tests

    func testARotationInstallsTheNewKeyEverywhereAfterEveryPeerAcked() async throws {
        try await startThreeNodes()
        let dir = try restartDirectory()
        let oldFingerprint = try XCTUnwrap(privateKeyFingerprint("node2"))
        let hostBefore = try XCTUnwrap(file("node2", "hosts/node2"))
        let alarms = Count()
        let rotation = rotation("node2", restart: dir, daemon: daemon(dir, alarms: alarms))
        let task = Task { await rotation.run() }
        defer { task.cancel() }
        let id = try await rotation.start()
        do {
            _ = try await rotation.start()
            XCTFail("a second rotation started while one runs")
        } catch {
            guard case .running(let running, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(running, id)
        }
        try await eventuallyAsync("the rotation ends", seconds: 30) { await rotation.status().lastID == id }
        let status = await rotation.status()
        XCTAssertEqual(status.lastResult, "success", status.lastError ?? "")
        XCTAssertEqual(status.phase, "idle")
        XCTAssertEqual(restartCalls(dir), 1)
        XCTAssertEqual(alarms.current, 1, "ALRM after the restart")
        let newFingerprint = try XCTUnwrap(privateKeyFingerprint("node2"))
        XCTAssertNotEqual(newFingerprint, oldFingerprint)
        // Only the key block of the own host file changed.
        let hostAfter = try XCTUnwrap(file("node2", "hosts/node2"))
        XCTAssertEqual(hostAfter.components(separatedBy: "-----BEGIN").first, hostBefore.components(separatedBy: "-----BEGIN").first)
        let client = try etcd()
        defer { client.shutdown() }
        try await assertNode2Consistent(client)
        for peer in ["node1", "node3"] {
            XCTAssertEqual((try PinStore.load(directory: stateDirectory(peer)))["node2"]?.source, .rotation)
            // The ack timeout is an hour: the install came after both acks.
            let acks = try await ownRecord(peer, client)?.keyAcks
            XCTAssertEqual(acks?["node2"], newFingerprint)
        }
        let state = try RotationState.load(directory: stateDirectory("node2"))
        XCTAssertEqual(state.chain.count, 1)
        XCTAssertEqual(state.chain.first?.toFingerprintSHA256, newFingerprint)
        XCTAssertEqual(state.counts["success"], 1)
        var info = stat()
        XCTAssertEqual(stat(stateDirectory("node2") + "/" + RotationState.fileName, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        let families = rotation.metrics.families.map(\.name)
        XCTAssertEqual(families, ["bgpmesh_key_age_seconds", "bgpmesh_key_rotation_phase", "bgpmesh_key_rotations_total"])
    }

    func testATincdThatRefusesTheNewKeyGetsTheOldOneBack() async throws {
        try await startThreeNodes()
        let dir = try restartDirectory()
        _ = FileManager.default.createFile(atPath: dir + "/fail-first", contents: nil)
        let oldFingerprint = try XCTUnwrap(privateKeyFingerprint("node2"))
        let hostBefore = file("node2", "hosts/node2")
        let rotation = rotation("node2", restart: dir, daemon: daemon(dir))
        let status = try await rotateToEnd(rotation)
        XCTAssertEqual(status.lastResult, "rolled_back")
        XCTAssertTrue(status.lastError?.contains("the restart command failed") ?? false, status.lastError ?? "")
        XCTAssertEqual(restartCalls(dir), 2, "the failed restart, then the restart with the old key")
        XCTAssertEqual(privateKeyFingerprint("node2"), oldFingerprint)
        XCTAssertEqual(file("node2", "hosts/node2"), hostBefore)
        let client = try etcd()
        defer { client.shutdown() }
        try await assertNode2Consistent(client)
        // The peers moved to the new key and back, through the statement new -> old.
        let state = try RotationState.load(directory: stateDirectory("node2"))
        XCTAssertEqual(state.chain.count, 2)
        XCTAssertEqual(state.chain.last?.toFingerprintSHA256, oldFingerprint)
        let results = rotation.metrics.values.withLock { $0.results }
        XCTAssertEqual(results[RotationState.Result.rolledBack], 1)
    }

    func testATincdThatDoesNotComeBackGetsTheOldKeyBack() async throws {
        try await startThreeNodes()
        let dir = try restartDirectory()
        let oldFingerprint = try XCTUnwrap(privateKeyFingerprint("node2"))
        // The restart command succeeds, but no new tincd appears (its pid stays 100).
        let rotation = rotation("node2", restart: dir, daemon: daemon(dir, block: .verify), verifyTimeout: .seconds(1))
        let status = try await rotateToEnd(rotation)
        XCTAssertEqual(status.lastResult, "rolled_back")
        XCTAssertTrue(status.lastError?.contains("did not come back") ?? false, status.lastError ?? "")
        XCTAssertEqual(restartCalls(dir), 2)
        XCTAssertEqual(privateKeyFingerprint("node2"), oldFingerprint)
        let client = try etcd()
        defer { client.shutdown() }
        try await assertNode2Consistent(client)
    }

    func testARotationRefusesToStartWithoutARestartCommand() async throws {
        try await startThreeNodes()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let rotation = KeyRotation(settings: .init(stateDirectory: stateDirectory("node2"), tincDirectory: "\(root!)/node2", restartCommand: nil),
                                   registry: running["node2"]!.sync, daemon: daemon(root), metrics: RotationMetrics(now: { 0 }), logger: logger)
        do {
            try await rotation.start()
            XCTFail("started without a restart command")
        } catch {
            XCTAssertEqual(error, .noRestartCommand)
            XCTAssertTrue(error.description.contains("repair.tincd-restart-command"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDirectory("node2") + "/" + RotationState.fileName))
    }

    /// The agent is stopped inside each phase (its rotation task cancelled, as at shutdown or
    /// a kill between two saved steps); a new one on the same state directory takes the
    /// rotation up, and node2's key agrees everywhere at the end.
    func testARotationStoppedInAnyPhaseEndsConsistentAfterARestart() async throws {
        try await startThreeNodes()
        let client = try etcd()
        defer { client.shutdown() }
        let cases: [(phase: String, block: Block, failFirst: Bool, result: String)] = [
            ("generated", .none, false, "success"),
            ("published", .pid, false, "success"),
            ("installing", .restart, false, "success"),
            ("restarted", .verify, false, "success"),
            ("rolling_back", .rollbackRestart, true, "rolled_back"),
        ]
        for entry in cases {
            let dir = try restartDirectory()
            try? FileManager.default.removeItem(atPath: dir + "/calls")
            if entry.failFirst { _ = FileManager.default.createFile(atPath: dir + "/fail-first", contents: nil) }
            let first = rotation("node2", restart: dir, daemon: daemon(dir, block: entry.block), verifyTimeout: .seconds(3600))
            let id: String
            if entry.phase == "generated" {
                // Killed right after the key was made: the loop never ran.
                await first.load()
                id = try await first.start()
            } else {
                await first.load()
                let task = Task { await first.run() }
                id = try await first.start()
                try await eventuallyAsync("first agent in \(entry.phase)", seconds: 30) { await first.status().phase == entry.phase }
                task.cancel()
                await task.value
            }
            XCTAssertEqual(try RotationState.load(directory: stateDirectory("node2")).current?.phase.rawValue, entry.phase, entry.phase)
            let second = rotation("node2", restart: dir, daemon: daemon(dir), verifyTimeout: .seconds(5))
            let task = try await runUntilIdle(second, what: "the rotation stopped in \(entry.phase) ends")
            task.cancel()
            await task.value
            let status = await second.status()
            XCTAssertEqual(status.lastID, id, entry.phase)
            XCTAssertEqual(status.lastResult, entry.result, "\(entry.phase): \(status.lastError ?? "")")
            try await assertNode2Consistent(client)
        }
    }
}
