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

    /// When node `n`'s BGP sessions last heard from their peer, by protocol name: BIRD's `Hold
    /// timer: remaining/total` in `show protocols all` is reset by every message received.
    static func lastHeard(_ n: NodeSpec) -> [String: Date] {
        guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols", "all"], timeout: 5), r.succeeded else { return [:] }
        var out: [String: Date] = [:]
        var current: String?
        let now = Date()
        for line in r.stdout.split(separator: "\n") {
            if line.first != " " && line.first != "\t" {
                let t = line.split(separator: " ", omittingEmptySubsequences: true)
                current = t.count >= 2 && t[1] == "BGP" ? String(t[0]) : nil
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let name = current, trimmed.hasPrefix("Hold timer:") else { continue }
            let value = trimmed.dropFirst("Hold timer:".count).trimmingCharacters(in: .whitespaces).split(separator: "/")
            if value.count == 2, let remaining = Double(value[0]), let total = Double(value[1]) {
                out[name] = now.addingTimeInterval(remaining - total)
            }
        }
        return out
    }

    /// Waits until every BGP session on `nodes` has heard from its peer after `since` (a
    /// keepalive goes every 10 s in the lab): BIRD's Established is not enough, a session whose
    /// TCP stalled stays Established until its hold timer (30 s) expires. Returns the sessions
    /// that did not within `timeout`.
    static func sessionsNotHeard(_ nodes: [NodeSpec], since: Date, timeout: Double = 25) -> [String] {
        var missing: [String] = []
        _ = LabHarness.eventually(timeout, interval: 0.5) {
            missing = []
            for n in nodes {
                let heard = lastHeard(n)
                if heard.isEmpty { missing.append("\(n.name): no BGP hold timers"); continue }
                for (peer, at) in heard where at <= since { missing.append("\(n.name)/\(peer)") }
            }
            return missing.isEmpty
        }
        return missing.sorted()
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
    /// `node/peer` seen in another state than Established (polled every 0.1 s), and every one that
    /// went down by the BIRD logs (`wentDown`: catches a drop shorter than the poll).
    struct SessionWatch {
        var leftEstablished: [String: String] = [:]
        var wentDown: [String] = []
        var polls = 0
    }

    static func watchSessions(_ nodes: [NodeSpec], settle: Double, each: () -> Void = {},
                              until finished: () -> Bool) -> SessionWatch {
        var watch = SessionWatch()
        let before = allSessions(nodes)
        var logSizes: [String: Int] = [:]
        for n in nodes {
            logSizes[n.name] = ((try? FileManager.default.attributesOfItem(atPath: n.log(.bird))[.size]) as? NSNumber)?.intValue ?? 0
        }
        var settleUntil: Date?
        while true {
            let now = allSessions(nodes)
            watch.polls += 1
            each()
            for (key, s) in now where !s.established && watch.leftEstablished[key] == nil { watch.leftEstablished[key] = s.description }
            // A node whose birdc did not answer this time (a loaded machine) says nothing; one that
            // answered without a session had lost it.
            let answered = Set(now.keys.map { String($0.prefix { $0 != "/" }) })
            for key in before.keys where now[key] == nil && watch.leftEstablished[key] == nil
                && answered.contains(String(key.prefix { $0 != "/" })) { watch.leftEstablished[key] = "gone from show protocols" }
            if settleUntil == nil && finished() { settleUntil = Date().addingTimeInterval(settle) }
            if let settleUntil, Date() >= settleUntil { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        // BIRD logs every state change (`debug protocols { states }` in the lab): a BGP session's
        // "State changed to down" since the start is a reset, however short.
        for n in nodes {
            let text = (try? String(contentsOfFile: n.log(.bird), encoding: .utf8)) ?? ""
            let added = text.utf8.count > (logSizes[n.name] ?? 0) ? String(text.utf8.dropFirst(logSizes[n.name] ?? 0)) ?? "" : ""
            for line in added.split(separator: "\n") where line.contains(": State changed to down") {
                guard let r = line.range(of: "<TRACE> ") else { continue }
                let name = line[r.upperBound...].prefix { $0 != ":" }
                if name.hasPrefix(LabNames.bgpProtocolPrefix) { watch.wentDown.append("\(n.name)/\(name)") }
            }
        }
        watch.wentDown = Array(Set(watch.wentDown)).sorted()
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
        let restarted = Date().addingTimeInterval(-5)
        XCTAssertEqual(Self.sessionsNotHeard(nodes, since: restarted), [], "BGP sessions that heard nothing from their peer after the restart")
        let newPid = try XCTUnwrap(lab.pid(.tincd, n2), "no tincd on node2 after the restart")
        XCTAssertNotEqual(newPid, oldPid, "tincd was not restarted")
        XCTAssertEqual(try Self.ifindex(n2), index, "tinc0 was re-created (its index changed)")
        XCTAssertEqual(Self.addresses(n2), addresses, "tinc0's addresses changed")
        XCTAssertEqual(routesLost, [], "BIRD's kernel routes on node2 missing at some poll during the restart")
        XCTAssertEqual(Self.birdRoutes(n2), routes, "BIRD's kernel routes on node2 after the restart")
        XCTAssertTrue(watch.leftEstablished.isEmpty, "sessions left Established during the restart: \(watch.leftEstablished)")
        XCTAssertEqual(watch.wentDown, [], "sessions that went down by the BIRD logs (a drop shorter than the poll)")
        XCTAssertGreaterThan(watch.polls, 20)
        let converged = LabHarness.eventually(30) { (try? LabHarness.status(stateDir: self.dir!).converged) == true }
        XCTAssertTrue(converged, "the lab is not converged after the restart")
        XCTAssertEqual(Self.agentFlaps(lab, nodes), flapsBefore, "the agents counted BGP session flaps")
        print("*** tincd restart on node2 (pid \(oldPid) -> \(newPid)): tinc0 index \(index) kept, addresses kept, "
              + "\(watch.polls) polls of every BGP session: none left Established ***")
    }

    // MARK: - Key rotation (issue 14's acceptance)

    /// The public key block of a tinc host file (the usable one: `BEGIN RSA PUBLIC KEY`).
    static func publicKey(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let b = text.range(of: "-----BEGIN RSA PUBLIC KEY-----"),
              let e = text.range(of: "-----END RSA PUBLIC KEY-----", range: b.upperBound..<text.endIndex) else { return nil }
        return String(text[b.lowerBound..<e.upperBound])
    }

    /// The node's private key file as tincd finds it: tinc.conf's `PrivateKeyFile`, else rsa_key.priv.
    static func privateKeyFile(_ n: NodeSpec) -> String {
        let conf = (try? String(contentsOfFile: n.tincConf, encoding: .utf8)) ?? ""
        for line in conf.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0].lowercased() == "privatekeyfile" {
                return parts[1].hasPrefix("/") ? parts[1] : "\(n.tincDir)/\(parts[1])"
            }
        }
        return "\(n.tincDir)/rsa_key.priv"
    }

    /// Every node's `hosts/<of>` key, by node name (nil where the file has none).
    static func hostKeys(of target: NodeSpec, on nodes: [NodeSpec]) -> [String: String?] {
        Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, publicKey("\($0.tincHostsDir)/\(target.name)")) })
    }

    /// The lab's own loss measurement: `ping -i 0.2` from every other node to `target`'s overlay
    /// address while a rotation runs; seconds lost per source node.
    final class Pings {
        let runs: [(String, Background)]
        init(to target: NodeSpec, from nodes: [NodeSpec]) throws {
            guard Command.which("ping") != nil else {
                throw LabHarnessError("ping is missing: run scripts/install-deps.sh (iputils-ping, group tools)")
            }
            runs = try nodes.filter { $0.index != target.index }.map { n in
                (n.name, try Background(namespace: n.namespace, ["ping", "-n", "-q", "-i", "0.2", "-W", "1", "-w", "600", target.overlay4],
                                        timeout: 700))
            }
        }
        /// Stops the pings (SIGINT: ping prints its summary) and returns the lost seconds per node.
        func stop() -> [String: Double] {
            // SIGINT to ping only (the child of the `sh -c` whose pid the pidfile holds), so its
            // shell lives on to write the status file.
            for (_, b) in runs {
                if let pid = Command.readPid("\(b.base).pid") { _ = try? Command.run(["pkill", "-INT", "-P", String(pid)], timeout: 5) }
            }
            var out: [String: Double] = [:]
            for (name, b) in runs {
                _ = LabHarness.eventually(5, interval: 0.1) { b.done }
                // "25 packets transmitted, 24 received, 4% packet loss, time 4805ms"
                let t = b.text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
                if let tx = t.firstIndex(of: "transmitted").flatMap({ $0 >= 2 ? Int(t[$0 - 2]) : nil }),
                   let rx = t.firstIndex(of: "received").flatMap({ $0 >= 1 ? Int(t[$0 - 1]) : nil }) {
                    out[name] = Double(tx - rx) * 0.2
                }
            }
            return out
        }
    }

    /// Lost probe seconds to `target` as its peers' agents report them: bgpmesh_peer_loss_ratio
    /// over the 60 s window at one probe a second (the agents' defaults), per peer. The window
    /// also holds whatever came before (a young lab's first probes), so the tests print it before
    /// and after; the lab's own pings are the measurement.
    static func agentProbeLoss(_ lab: Lab, to target: NodeSpec, from nodes: [NodeSpec]) -> [String: Double] {
        var out: [String: Double] = [:]
        for n in nodes where n.index != target.index {
            guard let m = LabHarness.agentMetrics(lab, n) else { continue }
            let ratios = m.filter { $0.key.hasPrefix("bgpmesh_peer_loss_ratio{") && $0.key.contains("peer=\"\(target.name)") }.values
            if let worst = ratios.max() { out[n.name] = worst * 60 }
        }
        return out
    }

    /// Starts tincd as `victim` with `privateKey` (its old key) from the monitoring namespace
    /// (192.0.2.250: no real node's address), connecting to `target` only, with no interface
    /// (`DeviceType = dummy`). Returns its log after `seconds`: whether it reached `target` over TCP
    /// and whether tinc activated the connection.
    func impostor(as victim: NodeSpec, privateKey: String, to target: NodeSpec, seconds: Double) throws
        -> (connected: Bool, activated: Bool, log: String) {
        let dir = "\(try XCTUnwrap(self.dir))/impostor-\(victim.name)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: "\(dir)/hosts", withIntermediateDirectories: true)
        try """
            Name = \(victim.name)
            Mode = switch
            DeviceType = dummy
            AddressFamily = ipv4
            Port = 6655
            ConnectTo = \(target.name)
            PingInterval = 1
            PingTimeout = 1

            """.write(toFile: "\(dir)/tinc.conf", atomically: true, encoding: .utf8)
        try String(contentsOfFile: "\(target.tincHostsDir)/\(target.name)", encoding: .utf8)
            .write(toFile: "\(dir)/hosts/\(target.name)", atomically: true, encoding: .utf8)
        try "Port = 6655\n".write(toFile: "\(dir)/hosts/\(victim.name)", atomically: true, encoding: .utf8)
        try privateKey.write(toFile: "\(dir)/rsa_key.priv", atomically: true, encoding: .utf8)
        chmod("\(dir)/rsa_key.priv", 0o600)
        let log = "\(dir)/tincd.log"
        let run = try Background(namespace: LabNames.monitoringNamespace,
                                 ["tincd", "-n", "impostor", "-c", dir, "-D", "-d3", "--logfile=\(log)", "--pidfile=\(dir)/tincd.pid"],
                                 timeout: seconds + 10)
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let activated = LabHarness.eventually(seconds, interval: 0.2) { text().contains("activated") }
        if let pid = Command.readPid("\(run.base).pid") { kill(-pid, SIGTERM) }
        _ = LabHarness.eventually(5, interval: 0.1) { run.done }
        let t = text()
        return (t.contains("Connected to \(target.name)"), activated, t)
    }

    struct RotationRun {
        var status: Int32
        var output: String
        var seconds: Double
        var watch: SessionWatch
        var pingLoss: [String: Double]
    }

    /// `bgpmesh-lab rotate-key NODE --wait` while the lab pings the node and watches every BGP
    /// session.
    func rotate(_ dir: String, _ target: NodeSpec, _ nodes: [NodeSpec], timeout: Double = 150) throws -> RotationRun {
        let pings = try Pings(to: target, from: nodes)
        let start = Date()
        let run = try Background(namespace: nil, [LabHarness.labBinary, "rotate-key", target.name, "--wait",
                                                  "--timeout", String(Int(timeout)), "--state-dir", dir], timeout: timeout + 30)
        let watch = Self.watchSessions(nodes, settle: 5, until: { run.done })
        let seconds = Date().timeIntervalSince(start)
        return RotationRun(status: run.status ?? -1, output: run.text, seconds: seconds, watch: watch, pingLoss: pings.stop())
    }

    /// What every clean rotation of `target` must show: done; every other node's hosts/<target>
    /// holds the node's new key; the old key no longer gets a tinc connection; no BGP session on
    /// any node left Established (BIRD) nor flapped (agents); loss to the node reported.
    func checkCleanRotation(_ dir: String, _ lab: Lab, _ target: NodeSpec, _ nodes: [NodeSpec], label: String) throws {
        let oldKey = try XCTUnwrap(Self.publicKey("\(target.tincHostsDir)/\(target.name)"))
        let oldPrivate = try String(contentsOfFile: Self.privateKeyFile(target), encoding: .utf8)
        let flapsBefore = try XCTUnwrap(Self.agentFlaps(lab, nodes), "an agent does not answer /metrics")

        let agentLossBefore = Self.agentProbeLoss(lab, to: target, from: nodes)
        let r = try rotate(dir, target, nodes)
        XCTAssertEqual(r.status, 0, "\(label): rotate-key --wait: \(r.output)")
        let newKey = try XCTUnwrap(Self.publicKey("\(target.tincHostsDir)/\(target.name)"), "\(label): no key in the node's own host file")
        XCTAssertNotEqual(newKey, oldKey, "\(label): the node's own host file still holds the old key")
        // Peers install the new host file on the rotation's ack, before the node restarts; wait a
        // registry tick at most for a straggler.
        let installed = LabHarness.eventually(15) { Self.hostKeys(of: target, on: nodes).allSatisfy { $0.value == newKey } }
        XCTAssertTrue(installed, "\(label): hosts/\(target.name) without the new key on: "
                      + Self.hostKeys(of: target, on: nodes).filter { $0.value != newKey }.keys.sorted().joined(separator: ","))

        let agentLoss = Self.agentProbeLoss(lab, to: target, from: nodes)
        XCTAssertEqual(Self.sessionsNotHeard(nodes, since: Date().addingTimeInterval(-5)), [],
                       "\(label): BGP sessions that heard nothing from their peer after the rotation")
        XCTAssertTrue(r.watch.leftEstablished.isEmpty, "\(label): sessions left Established: \(r.watch.leftEstablished)")
        XCTAssertEqual(r.watch.wentDown, [], "\(label): sessions that went down during the rotation by the BIRD logs")
        XCTAssertEqual(Self.agentFlaps(lab, nodes), flapsBefore, "\(label): the agents counted BGP session flaps")

        let peer = try XCTUnwrap(nodes.first { $0.index != target.index })
        let old = try impostor(as: target, privateKey: oldPrivate, to: peer, seconds: 8)
        XCTAssertTrue(old.connected, "\(label): the old-key tincd did not even reach \(peer.name): \(old.log.suffix(800))")
        XCTAssertFalse(old.activated, "\(label): a tincd with \(target.name)'s OLD key got a connection to \(peer.name)")
        // The control: the same impostor with the NEW key is let in (it stops at once, and the real
        // node takes its connection back), so the refusal above is the key's doing.
        let newPrivate = try String(contentsOfFile: Self.privateKeyFile(target), encoding: .utf8)
        XCTAssertNotEqual(newPrivate, oldPrivate, "\(label): the private key was not replaced")
        let control = try impostor(as: target, privateKey: newPrivate, to: peer, seconds: 8)
        XCTAssertTrue(control.activated, "\(label): control: a tincd with the NEW key got no connection either: \(control.log.suffix(800))")
        XCTAssertTrue(LabHarness.eventually(60) { (try? LabHarness.status(stateDir: dir).converged) == true },
                      "\(label): not converged after the rotation (and the old-key attempt)")

        func fmt(_ d: [String: Double]) -> String { d.keys.sorted().map { String(format: "%@ %.1f s", $0, d[$0]!) }.joined(separator: ", ") }
        print("*** \(label): rotation of \(target.name) in \(nodes.count) nodes took \(String(format: "%.1f", r.seconds)) s; "
              + "BGP sessions left Established: \(r.watch.leftEstablished.count) (\(r.watch.polls) polls), agent flaps 0; "
              + "probe loss to \(target.name), lab ping (0.2 s): \(fmt(r.pingLoss)); agents' 60 s loss window (ratio x 60 s) "
              + "before: \(fmt(agentLossBefore)), after: \(fmt(agentLoss)) ***")
    }

    /// Rotations in a 3-node lab, one after another: a clean one; one with a peer's agent killed
    /// during it (after its restart that peer has the new key and the mesh converges); one whose
    /// new key tincd "refuses" (the node's restart script fails once, see
    /// `NodeSpec.tincdRestartFailOnce`), which must end with the old key working everywhere.
    func testRotationsIn3NodeLab() throws {
        // A short ack timeout, so the rotation with a dead peer agent does not wait long.
        let (dir, lab, nodes) = try up(nodes: 3, extra: ["--keys.rotation-ack-timeout", "20s"])
        let n2 = nodes[1], n3 = nodes[2]
        try checkCleanRotation(dir, lab, n2, nodes, label: "3 nodes")

        // A peer's agent killed during the rotation.
        let keyBefore = try XCTUnwrap(Self.publicKey("\(n2.tincHostsDir)/\(n2.name)"))
        let state = try LabState.load(stateDir: dir)
        let id = try lab.rotateKey(n2, state: state)
        try LabHarness.labOK(["fault", "kill-agent", "node3"], stateDir: dir)
        let end = try lab.waitRotation(n2, id: id, timeout: 150) { print("  \($0.line(node: n2.name))") }
        XCTAssertEqual(end.finished(id: id), true, "rotation with node3's agent dead: \(end.line(node: n2.name))")
        let newKey = try XCTUnwrap(Self.publicKey("\(n2.tincHostsDir)/\(n2.name)"))
        XCTAssertNotEqual(newKey, keyBefore)
        try LabHarness.labOK(["fault", "restart-agent", "node3"], stateDir: dir)
        XCTAssertTrue(LabHarness.eventually(60) { Self.publicKey("\(n3.tincHostsDir)/\(n2.name)") == newKey },
                      "node3's hosts/node2 does not hold node2's new key after its agent came back")
        XCTAssertTrue(LabHarness.eventually(90) { (try? LabHarness.status(stateDir: dir).converged) == true },
                      "not converged after node3's agent came back")

        // Rollback: the restart with the new key fails once.
        let goodKey = newKey
        XCTAssertTrue(FileManager.default.createFile(atPath: n2.tincdRestartFailOnce, contents: nil))
        let r = try rotate(dir, n2, nodes)
        XCTAssertNotEqual(r.status, 0, "a rotation whose restart failed reported success: \(r.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: n2.tincdRestartFailOnce), "the failing restart never ran")
        let status = lab.rotationStatus(n2)
        XCTAssertEqual(status?.finished(id: nil), false, "status after the failed rotation: \(String(describing: status))")
        XCTAssertEqual(status?.lastResult, "rolled_back", "status after the failed rotation: \(String(describing: status))")
        XCTAssertTrue(LabHarness.eventually(30) { Self.hostKeys(of: n2, on: nodes).allSatisfy { $0.value == goodKey } },
                      "after the rollback hosts/node2 is not the old key everywhere: \(Self.hostKeys(of: n2, on: nodes))")
        XCTAssertNotNil(lab.pid(.tincd, n2), "no tincd on node2 after the rollback")
        XCTAssertTrue(LabHarness.eventually(90) { (try? LabHarness.status(stateDir: dir).converged) == true },
                      "not converged after the rollback")
        print("*** rollback: \(status?.line(node: n2.name) ?? "?"); sessions that left Established during it: "
              + "\(r.watch.leftEstablished) ***")
    }

    /// The clean rotation of node2 in an 8-node lab.
    func testRotationIn8NodeLab() throws {
        let (dir, lab, nodes) = try up(nodes: 8)
        try checkCleanRotation(dir, lab, nodes[1], nodes, label: "8 nodes")
    }
}

/// The `key_rotation` object of the agent's status, as `bgpmesh-lab rotate-key --wait` reads it
/// (shapes of h-rot's `KeyRotation.Status`).
final class RotationStatusTests: XCTestCase {
    func testParseAndFinish() throws {
        let running = try XCTUnwrap(RotationStatus.parse(statusJSON: #"""
            {"node":"node2","key_rotation":{"id":"r-7","phase":"published","started":"2026-12-06T08:20:00Z",
             "peers_acked":1,"peers_expected":2,"last_id":"r-6","last_result":"success"}}
            """#))
        XCTAssertEqual(running.phase, "published")
        XCTAssertEqual(running.peersAcked, 1)
        XCTAssertEqual(running.peersExpected, 2)
        XCTAssertNil(running.finished(id: "r-7"))
        XCTAssertEqual(running.line(node: "node2"), "node2: published, 1/2 peers acked (rotation r-7)")

        let done = try XCTUnwrap(RotationStatus.parse(statusJSON: #"{"key_rotation":{"phase":"idle","last_id":"r-7","last_result":"success"}}"#))
        XCTAssertEqual(done.finished(id: "r-7"), true)
        XCTAssertEqual(done.finished(id: nil), true)
        // An older rotation's result says nothing about the one asked for.
        XCTAssertNil(done.finished(id: "r-8"))

        let rolledBack = try XCTUnwrap(RotationStatus.parse(statusJSON: #"""
            {"key_rotation":{"phase":"idle","last_id":"r-8","last_result":"rolled_back",
             "last_error":"tincd did not come up with the new key"}}
            """#))
        XCTAssertEqual(rolledBack.finished(id: "r-8"), false)
        XCTAssertTrue(rolledBack.line(node: "node2").contains("error: tincd did not come up"), rolledBack.line(node: "node2"))
        XCTAssertNil(RotationStatus.parse(statusJSON: #"{"key_rotation":{"id":"r-9","phase":"rolling_back"}}"#)?.finished(id: "r-9"))

        XCTAssertNil(RotationStatus.parse(statusJSON: #"{"node":"node2"}"#), "an agent without rotation support")
        XCTAssertNil(RotationStatus.parse(statusJSON: "not json"))
    }
}
