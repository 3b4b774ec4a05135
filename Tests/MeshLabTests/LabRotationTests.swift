import Foundation
import XCTest
@testable import MeshLab

/// Issue 14 in the lab. The oracle is the daemons themselves: BIRD's `show protocols` in each
/// node's namespace (state and the time of its last change), `ip` for the interface, tincd's host
/// files; the agents' own metrics are a second witness, never the only one.
final class LabRotationTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        dir = nil
        super.tearDown()
    }

    // MARK: - Reading the daemons

    /// One BGP row of `birdc show protocols`: state, the time of its last change, info.
    struct Session: Equatable, CustomStringConvertible {
        var state: String
        var since: String
        var info: String
        var established: Bool { state == "up" && info.hasPrefix("Established") }
        var description: String { "\(state) since \(since) \(info)" }
    }

    /// Node `n`'s BGP sessions by protocol name, read from BIRD's control socket; empty when BIRD
    /// does not answer.
    static func sessions(_ n: NodeSpec) -> [String: Session] {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"], timeout: 5), r.succeeded else { return [:] }
        var out: [String: Session] = [:]
        for line in r.stdout.split(separator: "\n") {
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            guard t.count >= 5, t[1] == "BGP" else { continue }
            // Since is one token with the default `timeformat protocol`, two with the `iso long` ones.
            var infoStart = 5
            var since = String(t[4])
            if t.count > 5, t[4].contains("-"), t[5].contains(":") { infoStart = 6; since += " " + t[5] }
            out[String(t[0])] = Session(state: String(t[3]), since: since,
                                        info: t.count > infoStart ? t[infoStart...].joined(separator: " ") : "")
        }
        return out
    }

    /// Every node's sessions, keyed `node/peer`.
    static func allSessions(_ nodes: [NodeSpec]) -> [String: Session] {
        var out: [String: Session] = [:]
        for n in nodes { for (peer, s) in sessions(n) { out["\(n.name)/\(peer)"] = s } }
        return out
    }

    /// tinc0's interface index in node `n`'s namespace.
    static func ifindex(_ n: NodeSpec) throws -> Int {
        let r = try Netns.exec(n.namespace, ["ip", "-o", "link", "show", "dev", LabNames.tincInterface])
        guard r.succeeded, let i = r.stdout.split(separator: ":").first.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw LabHarnessError("\(n.name): no \(LabNames.tincInterface): \(r.stderr)")
        }
        return i
    }

    /// tinc0's global addresses in node `n`'s namespace (`inet 198.51.100.2/24`, `inet6 2001:db8::2/64`).
    static func addresses(_ n: NodeSpec) -> Set<String> {
        guard let r = try? Netns.exec(n.namespace, ["ip", "-o", "addr", "show", "dev", LabNames.tincInterface, "scope", "global"]),
              r.succeeded else { return [] }
        return Set(r.stdout.split(separator: "\n").compactMap { line in
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let i = t.firstIndex(where: { $0 == "inet" || $0 == "inet6" }), i + 1 < t.count else { return nil }
            return "\(t[i]) \(t[i + 1])"
        })
    }

    /// The kernel routes BIRD installed in node `n`'s namespace (`proto bird`), both families.
    static func birdRoutes(_ n: NodeSpec) -> Set<String> {
        var out = Set<String>()
        for family in ["-4", "-6"] {
            guard let r = try? Netns.exec(n.namespace, ["ip", family, "route", "show", "proto", "bird"]), r.succeeded else { continue }
            for line in r.stdout.split(separator: "\n") {
                // `ip route` writes a host route without its length: 203.0.113.1 is 203.0.113.1/32.
                let dest = String(line.split(separator: " ").first ?? "")
                out.insert(dest.contains("/") ? dest : dest + (family == "-4" ? "/32" : "/128"))
            }
        }
        return out
    }

    /// Sum of `bird_bgp_session_flaps_total` over every node's agent; nil if one does not answer.
    static func agentFlaps(_ lab: Lab, _ nodes: [NodeSpec]) -> Double? {
        var total = 0.0
        for n in nodes {
            guard let m = LabHarness.agentMetrics(lab, n) else { return nil }
            total += m.filter { $0.key.hasPrefix("bird_bgp_session_flaps_total") }.values.reduce(0, +)
        }
        return total
    }

    func up(nodes count: Int, extra: [String] = []) throws -> (dir: String, lab: Lab, nodes: [NodeSpec]) {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("key rotation") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        try LabHarness.labOK(["up", "--nodes", String(count)] + agentArgs + extra.map { "--agent-arg=\($0)" },
                             stateDir: dir, timeout: 240)
        let wait = try LabHarness.lab(["wait", "converged", "--timeout", "150"], stateDir: dir, timeout: 180)
        XCTAssertTrue(wait.succeeded, "the lab did not converge: \(wait.stderr)")
        return (dir, Lab(stateDir: dir), try LabState.load(stateDir: dir).specs(stateDir: dir))
    }

    /// What the mesh's sessions did while `body` ran and for `settle` seconds after: every
    /// `node/peer` seen in another state than Established (polled every 0.1 s), and every one whose
    /// BIRD `since` changed (catches a drop shorter than the poll).
    struct SessionWatch {
        var leftEstablished: [String: String] = [:]
        var sinceChanged: [String] = []
        var polls = 0
    }

    static func watchSessions(_ nodes: [NodeSpec], settle: Double, each: () -> Void = {},
                              until finished: () -> Bool) -> SessionWatch {
        var watch = SessionWatch()
        let before = allSessions(nodes)
        var settleUntil: Date?
        while true {
            let now = allSessions(nodes)
            watch.polls += 1
            each()
            for (key, s) in now where !s.established && watch.leftEstablished[key] == nil { watch.leftEstablished[key] = s.description }
            for key in before.keys where now[key] == nil && watch.leftEstablished[key] == nil { watch.leftEstablished[key] = "gone from show protocols" }
            if settleUntil == nil && finished() { settleUntil = Date().addingTimeInterval(settle) }
            if let settleUntil, Date() >= settleUntil { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let after = allSessions(nodes)
        watch.sinceChanged = before.keys.filter { after[$0]?.since != before[$0]?.since }.sorted()
        return watch
    }

    /// A command started in the background in a namespace, its output and exit status in files.
    /// (Not a Foundation Process waited for here: with birdc and curl Processes run meanwhile, the
    /// script's exit was never noticed and it stayed a zombie.)
    final class Background {
        let base = NSTemporaryDirectory() + "bml-rotation-\(UUID().uuidString)"
        let started = Date()
        let timeout: Double
        init(namespace: String?, _ argv: [String], timeout: Double) throws {
            self.timeout = timeout
            let command = argv.map(LabTemplates.shellQuote).joined(separator: " ")
            _ = try Command.spawnDaemon(["sh", "-c", "\(command) >'\(base).out' 2>&1; echo $? >'\(base).status'"],
                                    netns: namespace, pidfile: "\(base).pid", log: "\(base).log")
        }
        /// The exit status once it exited; nil while it runs; -1 after `timeout` (then killed).
        var status: Int32? {
            if let text = try? String(contentsOfFile: "\(base).status", encoding: .utf8),
               let s = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return s }
            guard Date().timeIntervalSince(started) > timeout else { return nil }
            if let pid = Command.readPid("\(base).pid") { kill(-pid, SIGKILL) }
            return -1
        }
        var done: Bool { status != nil }
        var text: String { (try? String(contentsOfFile: "\(base).out", encoding: .utf8)) ?? "" }
        deinit { for ext in ["out", "status", "pid", "log"] { try? FileManager.default.removeItem(atPath: "\(base).\(ext)") } }
    }

    // MARK: - The persistent interface

    /// A tincd restart (the node's own restart script, what the agent runs as
    /// repair.tincd-restart-command) keeps tinc0: the same interface index, its addresses, BIRD's
    /// kernel routes through it, and no BGP session on any node leaves Established.
    func testTincdRestartKeepsTheInterfaceAndEveryBGPSession() throws {
        let (_, lab, nodes) = try up(nodes: 3)
        let n2 = nodes[1]
        let allUp = Self.allSessions(nodes)
        XCTAssertEqual(allUp.count, 6, "\(allUp)")
        XCTAssertTrue(allUp.values.allSatisfy(\.established), "not every session Established before the restart: \(allUp)")
        let index = try Self.ifindex(n2)
        let addresses = Self.addresses(n2)
        XCTAssertEqual(addresses, ["inet \(n2.overlay4)/24", "inet6 \(n2.overlay6)/64"])
        let routes = Self.birdRoutes(n2)
        XCTAssertTrue(routes.contains(nodes[0].prefix4) && routes.contains(nodes[2].prefix4), "BIRD's routes on node2: \(routes)")
        let flapsBefore = try XCTUnwrap(Self.agentFlaps(lab, nodes), "an agent does not answer /metrics")
        let oldPid = try XCTUnwrap(lab.pid(.tincd, n2))

        var routesLost = Set<String>()
        let restart = try Background(namespace: n2.namespace, [n2.tincdRestartScript], timeout: 40)
        let watch = Self.watchSessions(nodes, settle: 5, each: { routesLost.formUnion(routes.subtracting(Self.birdRoutes(n2))) },
                                       until: { restart.done })
        XCTAssertEqual(restart.status, 0, "restart-tincd: \(restart.text)")
        let newPid = try XCTUnwrap(lab.pid(.tincd, n2), "no tincd on node2 after the restart")
        XCTAssertNotEqual(newPid, oldPid, "tincd was not restarted")
        XCTAssertEqual(try Self.ifindex(n2), index, "tinc0 was re-created (its index changed)")
        XCTAssertEqual(Self.addresses(n2), addresses, "tinc0's addresses changed")
        XCTAssertEqual(routesLost, [], "BIRD's kernel routes on node2 missing at some poll during the restart")
        XCTAssertEqual(Self.birdRoutes(n2), routes, "BIRD's kernel routes on node2 after the restart")
        XCTAssertTrue(watch.leftEstablished.isEmpty, "sessions left Established during the restart: \(watch.leftEstablished)")
        XCTAssertEqual(watch.sinceChanged, [], "sessions whose BIRD state changed (a drop shorter than the poll)")
        XCTAssertGreaterThan(watch.polls, 20)
        let converged = LabHarness.eventually(30) { (try? LabHarness.status(stateDir: self.dir!).converged) == true }
        XCTAssertTrue(converged, "the lab is not converged after the restart")
        XCTAssertEqual(Self.agentFlaps(lab, nodes), flapsBefore, "the agents counted BGP session flaps")
        print("*** tincd restart on node2 (pid \(oldPid) -> \(newPid)): tinc0 index \(index) kept, addresses kept, "
              + "\(watch.polls) polls of every BGP session: none left Established ***")
    }
}

/// The `key_rotation` object of the agent's status, as `bgpmesh-lab rotate-key --wait` reads it.
final class RotationStatusTests: XCTestCase {
    func testParseAndFinish() throws {
        let running = try XCTUnwrap(RotationStatus.parse(statusJSON: #"""
            {"node":"node2","key_rotation":{"id":"r-7","phase":"published","started":1765000000,
             "peers_acked":1,"peers_expected":2,"last_result":null,"last_error":null}}
            """#))
        XCTAssertEqual(running.phase, "published")
        XCTAssertEqual(running.peersAcked, 1)
        XCTAssertEqual(running.peersExpected, 2)
        XCTAssertNil(running.finished(id: "r-7"))
        XCTAssertEqual(running.line(node: "node2"), "node2: published, 1/2 peers acked (rotation r-7)")

        let done = try XCTUnwrap(RotationStatus.parse(statusJSON: #"{"key_rotation":{"id":"r-7","phase":"done","last_result":"ok"}}"#))
        XCTAssertEqual(done.finished(id: "r-7"), true)
        // An older rotation's result says nothing about the one asked for.
        XCTAssertNil(done.finished(id: "r-8"))

        let failed = try XCTUnwrap(RotationStatus.parse(statusJSON: #"""
            {"key_rotation":{"id":"r-8","phase":"idle","peers":{"acked":2,"expected":2},"last_result":"rolled_back",
             "last_error":"tincd did not come up with the new key"}}
            """#))
        XCTAssertEqual(failed.finished(id: "r-8"), false)
        XCTAssertEqual(failed.peersExpected, 2)
        XCTAssertTrue(failed.line(node: "node2").contains("error: tincd did not come up"))
        XCTAssertEqual(RotationStatus.parse(statusJSON: #"{"key_rotation":{"id":"r-9","phase":"failed"}}"#)?.finished(id: "r-9"), false)

        XCTAssertNil(RotationStatus.parse(statusJSON: #"{"node":"node2"}"#), "an agent without rotation support")
        XCTAssertNil(RotationStatus.parse(statusJSON: "not json"))
    }
}
