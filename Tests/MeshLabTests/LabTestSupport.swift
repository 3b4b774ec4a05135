import Foundation
import XCTest
@testable import MeshLab

/// Drives the built `bgpmesh-lab` executable and reads the daemons directly.
enum LabHarness {
    /// Build products directory: the test bundle sits next to the executables.
    static var productsDir: URL {
        // On Linux the .xctest is an executable in the products directory; elsewhere a bundle there.
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        let bundle = Bundle(for: LabHarnessAnchor.self).bundleURL
        candidates += [bundle, bundle.deletingLastPathComponent()]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("bgpmesh-lab").path) }
            ?? candidates[0]
    }

    static var labBinary: String { productsDir.appendingPathComponent("bgpmesh-lab").path }

    /// BGPMESH_AGENT_BINARY, else the bgpmesh-agent built next to the tests.
    static var agentBinary: String? {
        if let env = ProcessInfo.processInfo.environment["BGPMESH_AGENT_BINARY"], !env.isEmpty { return env }
        let sibling = productsDir.appendingPathComponent("bgpmesh-agent").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : nil
    }

    /// Skips (loudly) only without root, which no test can work around; every other reason the
    /// lab cannot run is a failure: CI runs as root, so a lab that cannot start is a bug.
    static func requireLabEnvironment(allowRunningLab: Bool = false) throws {
        guard geteuid() == 0 else {
            print("*** MeshLab integration tests SKIPPED: not root (network namespaces need root) ***")
            throw XCTSkip("*** SKIPPED LOUDLY: MeshLab integration tests need root (run as root, or pass --skip MeshLabTests) ***")
        }
        do { try Netns.probe() } catch {
            throw LabHarnessError("running as root, but network namespaces are unavailable: \(error)")
        }
        guard FileManager.default.isExecutableFile(atPath: labBinary) else {
            throw LabHarnessError("bgpmesh-lab was not built at \(labBinary); run `swift build --build-tests` first")
        }
        let leftovers = Netns.labNamespaces()
        if !allowRunningLab && !leftovers.isEmpty {
            throw LabHarnessError("a lab is already running (namespaces \(leftovers.joined(separator: ", "))); only one lab fits "
                                  + "on a machine: take it down with `bgpmesh-lab down --state-dir <its state dir>` "
                                  + "(or `bgpmesh-lab down` for the default one), then run the tests again")
        }
    }

    /// `--agent-binary X`, or `--no-agents` when BGPMESH_LAB_NO_AGENT=1 allows it.
    static func agentArguments() throws -> [String] {
        if let a = agentBinary { return ["--agent-binary", a] }
        if ProcessInfo.processInfo.environment["BGPMESH_LAB_NO_AGENT"] == "1" {
            print("*** WARNING: no bgpmesh-agent binary; BGPMESH_LAB_NO_AGENT=1 runs the lab WITHOUT agents and skips the agent checks ***")
            return ["--no-agents"]
        }
        throw LabHarnessError("no bgpmesh-agent next to the tests (\(productsDir.path)); build it, set BGPMESH_AGENT_BINARY, "
                              + "or set BGPMESH_LAB_NO_AGENT=1 to test without agents")
    }

    /// The skip of a test that needs the agents in a lab run without them (BGPMESH_LAB_NO_AGENT=1).
    static func agentsAbsent(_ what: String) -> XCTSkip {
        XCTSkip("SKIPPED LOUDLY: \(what): needs the bgpmesh-agent binary, which is absent (BGPMESH_LAB_NO_AGENT=1)")
    }

    static func newStateDir() -> String {
        let d = "/tmp/bml-test-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @discardableResult
    static func lab(_ args: [String], stateDir: String, timeout: Double = 120) throws -> CommandResult {
        try Command.run([labBinary] + args + ["--state-dir", stateDir], timeout: timeout)
    }

    /// Runs a lab command and fails the test with its stderr when it exits non-zero.
    @discardableResult
    static func labOK(_ args: [String], stateDir: String, timeout: Double = 120,
                      file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let r = try lab(args, stateDir: stateDir, timeout: timeout)
        XCTAssertEqual(r.status, 0, "bgpmesh-lab \(args.joined(separator: " ")): \(r.stderr)\(r.stdout)", file: file, line: line)
        return r
    }

    static func status(stateDir: String) throws -> LabStatus {
        let r = try lab(["status", "--json"], stateDir: stateDir, timeout: 60)
        return try JSONDecoder().decode(LabStatus.self, from: Data(r.stdout.utf8))
    }

    /// Every series of one agent's /metrics (name with labels as written -> value), from one
    /// scrape through the monitoring namespace; nil when the agent does not answer.
    static func agentMetrics(_ lab: Lab, _ n: NodeSpec) -> [String: Double]? {
        guard let text = try? lab.httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/metrics") else { return nil }
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// Sum of every series of `name` whose labels contain all of `having`.
    static func sum(_ m: [String: Double], _ name: String, having: [String] = []) -> Double {
        m.filter { ($0.key == name || $0.key.hasPrefix(name + "{")) && having.allSatisfy($0.key.contains) }.values.reduce(0, +)
    }

    /// One agent's `/api/v1/status` as JSON; nil when it does not answer.
    static func agentStatus(_ lab: Lab, _ n: NodeSpec) -> [String: Any]? {
        guard let text = try? lab.httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/api/v1/status") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// What node `n`'s agent says it did on its own since `start` for `action` (trigger auto,
    /// result ok): the rise of its `bgpmesh_repairs_total` over `counterBefore`, and the entries
    /// in its `/api/v1/status` audit trail. nil when the agent does not answer or reports another
    /// repair mode (so a silent agent never passes for one that did nothing).
    static func ownRepairs(_ lab: Lab, _ n: NodeSpec, _ mode: String, _ action: String, since start: Date,
                           counterBefore: Double) -> (counted: Double, audited: Double)? {
        guard let m = agentMetrics(lab, n), m["bgpmesh_repair_mode_info{mode=\"\(mode)\"}"] == 1,
              let json = agentStatus(lab, n), json["repair_mode"] as? String == mode,
              let actions = json["recent_actions"] as? [[String: Any]] else { return nil }
        let counted = sum(m, "bgpmesh_repairs_total", having: ["action=\"\(action)\"", "trigger=\"auto\"", "result=\"ok\""]) - counterBefore
        let audited = actions.filter {
            $0["action"] as? String == action && $0["trigger"] as? String == "auto" && $0["result"] as? String == "ok"
                && ($0["time"] as? Double ?? 0) >= start.timeIntervalSince1970 - 1
        }.count
        return (counted, Double(audited))
    }

    /// Polls `check` until it is true, at most `timeout` seconds.
    static func eventually(_ timeout: Double, interval: Double = 0.5, _ check: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if try check() { return true }
            Thread.sleep(forTimeInterval: interval)
        } while Date() < deadline
        return false
    }

    /// Every pid that belongs to the lab: in a bml-* namespace, or a forwarder.
    static func labPids() -> [Int32] {
        var inodes = Set<UInt64>()
        for ns in Netns.labNamespaces() {
            var st = stat()
            if stat("/run/netns/\(ns)", &st) == 0 { inodes.insert(UInt64(st.st_ino)) }
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            var st = stat()
            if stat("/proc/\(pid)/ns/net", &st) == 0, inodes.contains(UInt64(st.st_ino)) { return Command.isAlive(pid) }
            let cmd = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data())
                .split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return cmd.contains("_forward") && cmd.contains("bml-mon") && Command.isAlive(pid)
        }
    }

    /// Processes whose command line mentions the state directory (catches daemons even after their
    /// namespace is gone).
    static func pidsMentioning(_ stateDir: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: d, as: UTF8.self).contains(stateDir) && Command.isAlive(pid)
        }
    }
}

final class LabHarnessAnchor {}

/// Why the lab could not be used: a failure of the test, never a skip.
struct LabHarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
