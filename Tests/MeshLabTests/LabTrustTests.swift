import Foundation
import XCTest
@testable import MeshLab
import MeshAgent
import TincControl

/// Issue 13's acceptance in the lab (`--keys agent`): an impostor record, junk under the
/// prefix, a subnet amplification and a hand-made host file, all on one 3-node lab that the
/// tests share (each leaves it converged; one that finds it broken starts a fresh one). The
/// BGP sessions are read from BIRD, files from disk and packets from the nodes' interfaces:
/// the agents' own metrics only say that they saw the record.
final class LabTrustTests: XCTestCase {
    /// The state directory of the lab the tests share; taken down after the last test.
    nonisolated(unsafe) static var sharedDir: String?

    override class func tearDown() {
        if let dir = sharedDir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        sharedDir = nil
        super.tearDown()
    }

    // MARK: - Tests

    /// A valid record for node2 carrying node3's key, signed by node3's own private key: every
    /// agent refuses it as `key_not_pinned`, no host file changes, no BGP session drops.
    func testImpostorRecordIsRefused() throws {
        let (lab, nodes) = try convergedLab()
        let node2 = lab.node(2), node3 = lab.node(3)
        let files = hostFiles(nodes)
        let before = counts(lab, nodes, "bgpmesh_registry_rejected_records_total{reason=\"key_not_pinned\"}")
        let bgp = Watch.bgp(lab, nodes)

        let refusal = "pinned SHA256:\(try fingerprint(node2)), offered SHA256:\(try fingerprint(node3))"
        let logged = logLines(lab.node(1), containing: refusal)
        let impostor = try impostorRecord(lab, for: node2, keyOf: node3)
        try put(lab, "nodes/node2", impostor)
        // node2's own agent puts its real record back at once; every other agent must have seen
        // (and refused) the impostor's revision first.
        for n in nodes where n != node2 {
            XCTAssertTrue(LabHarness.eventually(20) { self.count(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"key_not_pinned\"}") > before[n]! },
                          "\(n.name) never counted the impostor record as key_not_pinned: \(rejections(lab, n))")
        }
        // An observation window: a file written or a session dropped late would show in it.
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(logLines(lab.node(1), containing: refusal), logged + 1,
                       "node1 did not log the refusal once, with both fingerprints (\(refusal))")
        XCTAssertEqual(changed(files, hostFiles(nodes)), [], "the impostor record changed host files")
        let drops = bgp.stop()
        XCTAssertEqual(drops, [], "BGP sessions left Established while the impostor record was in etcd")
        XCTAssertTrue(LabHarness.eventually(20) { (try? self.publishedFingerprint(lab, node2)) == (try? self.fingerprint(node2)) },
                      "node2's agent did not put its own record back")
    }

    /// The same with node2's agent killed first: nobody puts the real record back, so the
    /// impostor stays in etcd, and it stays refused over several agent ticks. node2's agent,
    /// started again, publishes its real record and the mesh is whole.
    func testImpostorWithNode2AgentKilled() throws {
        let (lab, nodes) = try convergedLab()
        let node2 = lab.node(2), node3 = lab.node(3)
        let dir = lab.stateDir
        try LabHarness.labOK(["fault", "kill-agent", "node2"], stateDir: dir, timeout: 60)
        addTeardownBlock { _ = try? LabHarness.lab(["fault", "restart-agent", "node2"], stateDir: dir, timeout: 60) }
        let files = hostFiles(nodes)
        let others = nodes.filter { $0 != node2 }
        let before = counts(lab, others, "bgpmesh_registry_rejected_records_total{reason=\"key_not_pinned\"}")
        let bgp = Watch.bgp(lab, nodes)

        let impostor = try impostorRecord(lab, for: node2, keyOf: node3)
        try put(lab, "nodes/node2", impostor)
        for n in others {
            XCTAssertTrue(LabHarness.eventually(20) { self.count(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"key_not_pinned\"}") > before[n]! },
                          "\(n.name) never counted the impostor record as key_not_pinned: \(rejections(lab, n))")
        }
        // The window that proves the refusal lasts: three agent ticks (2 s each) with the
        // impostor as the current value of nodes/node2.
        Thread.sleep(forTimeInterval: 6)
        XCTAssertEqual(try publishedFingerprint(lab, node2), try fingerprint(node3), "the impostor is no longer in etcd: the test proves nothing")
        for n in others {
            XCTAssertEqual(LabHarness.agentMetrics(lab, n)?["bgpmesh_registry_refused_node{peer=\"node2\",reason=\"key_not_pinned\"}"], 1,
                           "\(n.name) does not report node2's current record as refused")
            XCTAssertEqual(LabHarness.agentMetrics(lab, n)?["bgpmesh_registry_synced"], 1, "\(n.name) lost the registry")
        }
        XCTAssertEqual(changed(files, hostFiles(nodes)), [], "the impostor record changed host files")
        XCTAssertEqual(bgp.stop(), [], "BGP sessions left Established while the impostor record was in etcd")

        try LabHarness.labOK(["fault", "restart-agent", "node2"], stateDir: dir, timeout: 60)
        XCTAssertTrue(LabHarness.eventually(30) { (try? self.publishedFingerprint(lab, node2)) == (try? self.fingerprint(node2)) },
                      "node2's agent, started again, did not publish its own record")
        let value = try get(lab, "nodes/node2")
        let signed = try SignedRecord.decode(Array(value.utf8))
        XCTAssertTrue(try TincRSAPublicKey(pemText: signed.record.publicKey)
                        .isValidSignature(signed.signature, for: CanonicalRecord.bytes(of: signed.record)),
                      "node2's republished record does not verify")
        try waitHealthy(lab, nodes, "after node2's agent came back")
        XCTAssertEqual(changed(files, hostFiles(nodes)), [], "host files differ after node2 republished its record")
    }

    /// 30 values of 1.4 MB under the mesh prefix, and a few under nodes/ (refused as
    /// oversized): every agent stays synced throughout, and a node added afterwards joins.
    func testJunkUnderPrefix() throws {
        let (lab, nodes) = try convergedLab()
        let junkFile = "/tmp/bml-trust-junk-\(getpid())"
        try Data(repeating: UInt8(ascii: "j"), count: 1_400_000).write(to: URL(fileURLWithPath: junkFile))
        let junkNodes = (1...3).map { "nodes/junk\($0)" }
        addTeardownBlock {
            _ = try? lab.etcdctl(["del", "--prefix", LabNames.registryPrefix + "junk/"], timeout: 30)
            for key in junkNodes { _ = try? lab.etcdctl(["del", LabNames.registryPrefix + key]) }
            try? FileManager.default.removeItem(atPath: junkFile)
        }
        let before = counts(lab, nodes, "bgpmesh_registry_rejected_records_total{reason=\"oversized\"}")
        let synced = Watch.metric(lab, nodes, "bgpmesh_registry_synced", expected: 1)

        let start = Date()
        for i in 0..<30 {
            let r = try lab.etcdctl(["put", LabNames.registryPrefix + "junk/\(i)"], stdinFile: junkFile, timeout: 30)
            XCTAssertTrue(r.succeeded, "etcdctl put junk/\(i): \(r.stderr)")
        }
        for key in junkNodes {
            let r = try lab.etcdctl(["put", LabNames.registryPrefix + key], stdinFile: junkFile, timeout: 30)
            XCTAssertTrue(r.succeeded, "etcdctl put \(key): \(r.stderr)")
        }
        print(String(format: "*** 33 values of 1.4 MB put under %@ in %.1f s ***", LabNames.registryPrefix, Date().timeIntervalSince(start)))
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(30) {
                self.count(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"oversized\"}") >= before[n]! + Double(junkNodes.count)
            }, "\(n.name) did not refuse the \(junkNodes.count) oversized records under nodes/: \(rejections(lab, n))")
            XCTAssertFalse(hostNames(n).contains { $0.hasPrefix("junk") }, "\(n.name) wrote a host file for junk: \(hostNames(n))")
        }
        // An observation window with the junk in place: an agent that resyncs or falls behind shows in it.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(synced.stop(), [], "agents lost sync with the junk under the prefix")

        let added = Date()
        let r = try LabHarness.lab(["add-node"], stateDir: lab.stateDir, timeout: 180)
        XCTAssertTrue(r.succeeded, "bgpmesh-lab add-node: \(r.stderr)")
        let converged = try LabHarness.lab(["wait", "converged", "--timeout", "120"], stateDir: lab.stateDir, timeout: 150)
        XCTAssertTrue(converged.succeeded, "the node added with the junk in etcd did not join: \(converged.stderr)")
        print(String(format: "*** junk in etcd: add-node -> converged in %.1f s ***", Date().timeIntervalSince(added)))
        let all = try LabState.load(stateDir: lab.stateDir).specs(stateDir: lab.stateDir)
        for n in all {
            XCTAssertTrue(LabHarness.eventually(20) { LabHarness.agentMetrics(lab, n)?["bgpmesh_registry_synced"] == 1 }, "\(n.name) is not synced")
            XCTAssertEqual(Set(hostNames(n)), Set(all.map(\.name)), "\(n.name)'s host files")
        }
    }

    /// A record whose 256 /32 subnets lie outside the overlay, signed by its own fresh key (so
    /// only the subnet rules can refuse it), is refused; no host file appears and, read off
    /// every node's interfaces, no packet goes to any of its addresses. A valid record in the
    /// same capture is the control: its overlay address is probed, and the capture sees it.
    func testSubnetAmplificationRefused() throws {
        let (lab, nodes) = try convergedLab()
        // Routes that would carry a probe of the foreign addresses onto tinc0 (as a default
        // route would in a real network): 198.18.0.0/24 (RFC 2544) through a gateway that
        // does not exist, with a permanent neighbour entry so the packet leaves at once
        // instead of waiting for ARP; the same for the two records' overlay addresses.
        let gateway = "198.51.100.250", amplifierOverlay = "198.51.100.99", controlOverlay = "198.51.100.98"
        let foreign = (0..<256).map { "198.18.0.\($0)" }
        for n in nodes {
            try Netns.ip("-n", n.namespace, "neigh", "replace", gateway, "lladdr", "02:00:5e:00:53:fa", "nud", "permanent", "dev", LabNames.tincInterface)
            try Netns.ip("-n", n.namespace, "neigh", "replace", amplifierOverlay, "lladdr", "02:00:5e:00:53:63", "nud", "permanent", "dev", LabNames.tincInterface)
            try Netns.ip("-n", n.namespace, "neigh", "replace", controlOverlay, "lladdr", "02:00:5e:00:53:62", "nud", "permanent", "dev", LabNames.tincInterface)
            try Netns.ip("-n", n.namespace, "route", "replace", "198.18.0.0/24", "via", gateway, "dev", LabNames.tincInterface)
        }
        addTeardownBlock {
            for key in ["nodes/amplifier", "nodes/probed"] { _ = try? lab.etcdctl(["del", LabNames.registryPrefix + key]) }
            for n in nodes {
                _ = try? Command.run([Netns.ip, "-n", n.namespace, "route", "del", "198.18.0.0/24"])
                for a in [gateway, amplifierOverlay, controlOverlay] {
                    _ = try? Command.run([Netns.ip, "-n", n.namespace, "neigh", "del", a, "dev", LabNames.tincInterface])
                }
            }
        }
        let keys = try FreshKeys()
        let amplifier = try keys.signedRecord("amplifier", overlay: [amplifierOverlay], subnets: foreign.map { "\($0)/32" })
        let control = try keys.signedRecord("probed", overlay: [controlOverlay], subnets: [])
        let reasons = ["too_many_subnets", "subnet_outside_overlay"]
        let before = Dictionary(uniqueKeysWithValues: nodes.map { n in
            (n, reasons.map { count(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"\($0)\"}") }.reduce(0, +))
        })

        // The capture's window: the records appear at its start; probes go out every second.
        let capture = try PacketCapture(lab, nodes, seconds: 10, destinations: foreign + [amplifierOverlay, controlOverlay])
        try put(lab, "nodes/amplifier", amplifier)
        try put(lab, "nodes/probed", control)
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(8) {
                reasons.map { self.count(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"\($0)\"}") }.reduce(0, +) > before[n]!
            }, "\(n.name) did not refuse the record with 256 foreign subnets: \(rejections(lab, n))")
        }
        let packets = try capture.wait()
        print("*** 10 s capture on every node: " + nodes.map { n in
            let seen = packets[n] ?? [:]
            return "\(n.name) \(seen[.init(destination: controlOverlay, kind: "icmp")] ?? 0) probes of the control, "
                + "\(seen.filter { $0.key.destination != controlOverlay }.values.reduce(0, +)) packets to the refused record"
        }.joined(separator: "; ") + " ***")
        for n in nodes {
            let seen = packets[n] ?? [:]
            let toForeign = seen.filter { $0.key.destination != controlOverlay }
            XCTAssertEqual(toForeign, [:], "\(n.name) sent packets to the refused record's addresses")
            XCTAssertGreaterThan(seen[.init(destination: controlOverlay, kind: "icmp")] ?? 0, 0,
                                 "control: the capture on \(n.name) saw no probe of the valid record's overlay address \(controlOverlay): \(seen)")
            XCTAssertFalse(hostNames(n).contains("amplifier"), "\(n.name) wrote a host file for the refused record")
            XCTAssertTrue(hostNames(n).contains("probed"), "control: \(n.name) has no host file for the valid record")
        }
    }

    /// A host file an operator wrote by hand on node1 survives a valid record for its name
    /// (node1 reports a conflict; the other nodes install the record) and the record's deletion
    /// (past the removal hold, two alive TTLs).
    func testHandMadeHostFileSurvives() throws {
        let (lab, nodes) = try convergedLab()
        let node1 = lab.node(1)
        let others = nodes.filter { $0 != node1 }
        let keys = try FreshKeys()
        let path = "\(node1.tincHostsDir)/handmade"
        let handMade = "# Written by an operator, not by bgpmesh-agent.\nAddress = 192.0.2.177\nPort = 655\n\n"
            + (try keys.key("operator").publicKey.pem)
        try Data(handMade.utf8).write(to: URL(fileURLWithPath: path))
        addTeardownBlock {
            _ = try? lab.etcdctl(["del", LabNames.registryPrefix + "nodes/handmade"])
            try? FileManager.default.removeItem(atPath: path)
        }
        let record = try keys.signedRecord("handmade", overlay: ["198.51.100.77"], subnets: [])
        try put(lab, "nodes/handmade", record)
        for n in others {
            XCTAssertTrue(LabHarness.eventually(20) { self.hostNames(n).contains("handmade") },
                          "control: \(n.name) did not install the valid record for handmade")
        }
        XCTAssertTrue(LabHarness.eventually(20) { LabHarness.agentMetrics(lab, node1)?["bgpmesh_registry_host_file_conflicts"] == 1 },
                      "node1 does not report its hand-made hosts/handmade as a conflict")
        // One more agent tick (2 s) plus margin: a rewrite would show in it.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data(handMade.utf8), "node1's hand-made host file changed when the record appeared")

        let deleted = Date()
        let r = try lab.etcdctl(["del", LabNames.registryPrefix + "nodes/handmade"])
        XCTAssertTrue(r.succeeded, r.stderr)
        for n in others {
            XCTAssertTrue(LabHarness.eventually(40) { !self.hostNames(n).contains("handmade") },
                          "control: \(n.name) kept the host file of the deleted record")
        }
        // Past the removal hold (2 x the 5 s alive TTL) and two agent ticks after the deletion:
        // by then node1 would have removed a file it considered its own.
        let remaining = 14 - Date().timeIntervalSince(deleted)
        if remaining > 0 { Thread.sleep(forTimeInterval: remaining) }
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data(handMade.utf8), "node1's hand-made host file did not survive the deletion")
    }

    // MARK: - The shared lab

    /// The shared lab, converged with every agent synced; brought up on first use, and again
    /// when a previous test left it broken.
    func convergedLab() throws -> (Lab, [NodeSpec]) {
        try LabHarness.requireLabEnvironment(allowRunningLab: Self.sharedDir != nil)
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("the trusted registry") }
        if let dir = Self.sharedDir {
            let lab = Lab(stateDir: dir)
            let nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
            if (try? waitHealthy(lab, nodes, "the shared lab", report: false)) != nil { return (lab, nodes) }
            print("*** the shared lab is not healthy after the previous test; starting a fresh one ***")
            _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120)
            Self.sharedDir = nil
        }
        let dir = LabHarness.newStateDir()
        Self.sharedDir = dir
        let start = Date()
        try LabHarness.labOK(["up", "--nodes", "3", "--keys", "agent"] + agentArgs, stateDir: dir, timeout: 180)
        let lab = Lab(stateDir: dir)
        let nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        try waitHealthy(lab, nodes, "cold start")
        print(String(format: "*** trust lab: up -> converged, every agent synced, in %.1f s ***", Date().timeIntervalSince(start)))
        return (lab, nodes)
    }

    /// Converged (BIRD and tinc, read by the lab) and every agent synced with every node's record.
    func waitHealthy(_ lab: Lab, _ nodes: [NodeSpec], _ what: String, report: Bool = true) throws {
        let r = try LabHarness.lab(["wait", "converged", "--timeout", "90"], stateDir: lab.stateDir, timeout: 120)
        guard r.succeeded else {
            if report { XCTFail("\(what): the lab did not converge: \(r.stderr)") }
            throw LabHarnessError("\(what): not converged")
        }
        for n in nodes {
            let ok = LabHarness.eventually(30) {
                let m = LabHarness.agentMetrics(lab, n)
                return m?["bgpmesh_registry_synced"] == 1 && m?["bgpmesh_registry_published"] == 1
            }
            guard ok else {
                if report { XCTFail("\(what): \(n.name)'s agent is not synced and published") }
                throw LabHarnessError("\(what): \(n.name) not synced")
            }
        }
    }

    // MARK: - Records

    /// node2's current record with node3's key and fingerprint, signed by node3's private key:
    /// valid in itself, so only the pin can refuse it.
    func impostorRecord(_ lab: Lab, for victim: NodeSpec, keyOf thief: NodeSpec) throws -> [UInt8] {
        var record = try JSONDecoder().decode(NodeRecord.self, from: Data(try get(lab, "nodes/\(victim.name)").utf8))
        let key = try TincRSAPrivateKey(contentsOfFile: "\(thief.tincDir)/rsa_key.priv")
        XCTAssertEqual(record.name, victim.name)
        XCTAssertNotEqual(record.fingerprintSHA256, key.publicKey.fingerprintSHA256, "the victim's record already carries the thief's key")
        record.publicKey = key.publicKey.pem
        record.fingerprintSHA256 = key.publicKey.fingerprintSHA256
        let signed = try SignedRecord.sign(record, with: key)
        XCTAssertTrue(key.publicKey.isValidSignature(signed.signature, for: CanonicalRecord.bytes(of: record)),
                      "the impostor's own signature does not verify: the test would prove nothing about pins")
        return signed.encoded()
    }

    func fingerprint(_ n: NodeSpec) throws -> String {
        try TincRSAPrivateKey(contentsOfFile: "\(n.tincDir)/rsa_key.priv").publicKey.fingerprintSHA256
    }

    /// The fingerprint in the current value of nodes/<name>.
    func publishedFingerprint(_ lab: Lab, _ n: NodeSpec) throws -> String {
        try JSONDecoder().decode(NodeRecord.self, from: Data(try get(lab, "nodes/\(n.name)").utf8)).fingerprintSHA256
    }

    func get(_ lab: Lab, _ key: String) throws -> String {
        let r = try lab.etcdctl(["get", "--print-value-only", LabNames.registryPrefix + key])
        guard r.succeeded else { throw LabHarnessError("etcdctl get \(key): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .newlines)
    }

    /// Puts raw bytes under the mesh prefix (through a file: etcdctl reads the value from stdin).
    func put(_ lab: Lab, _ key: String, _ value: [UInt8]) throws {
        let file = "/tmp/bml-trust-value-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try Data(value).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try lab.etcdctl(["put", LabNames.registryPrefix + key], stdinFile: file)
        guard r.succeeded else { throw LabHarnessError("etcdctl put \(key): \(r.stderr)") }
    }

    // MARK: - Reading the nodes

    func hostNames(_ n: NodeSpec) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: n.tincHostsDir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Path -> bytes of every hosts/* file on every node.
    func hostFiles(_ nodes: [NodeSpec]) -> [String: Data] {
        var out: [String: Data] = [:]
        for n in nodes {
            for name in hostNames(n) { out["\(n.tincHostsDir)/\(name)"] = FileManager.default.contents(atPath: "\(n.tincHostsDir)/\(name)") }
        }
        return out
    }

    /// How many lines of a node's agent log contain `text`.
    func logLines(_ n: NodeSpec, containing text: String) -> Int {
        ((try? String(contentsOfFile: n.log(.agent), encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(text) }.count
    }

    /// The paths that differ, appeared or went.
    func changed(_ a: [String: Data], _ b: [String: Data]) -> [String] {
        Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    /// A series' value, 0 when absent (a counter not yet incremented); -1 when the agent does not answer.
    func count(_ lab: Lab, _ n: NodeSpec, _ series: String) -> Double {
        guard let m = LabHarness.agentMetrics(lab, n) else { return -1 }
        return m[series] ?? 0
    }

    func counts(_ lab: Lab, _ nodes: [NodeSpec], _ series: String) -> [NodeSpec: Double] {
        Dictionary(uniqueKeysWithValues: nodes.map { ($0, count(lab, $0, series)) })
    }

    /// Every rejection series of one agent, for failure messages.
    func rejections(_ lab: Lab, _ n: NodeSpec) -> [String: Double] {
        (LabHarness.agentMetrics(lab, n) ?? [:]).filter { $0.key.hasPrefix("bgpmesh_registry_rejected_records_total") && $0.value > 0 }
    }
}

/// Fresh tinc keys (`tincd -K`, as the lab makes them) for names no lab node has, and records
/// signed with them.
struct FreshKeys {
    let dir = "/tmp/bml-trust-keys-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func key(_ name: String) throws -> TincRSAPrivateKey {
        let d = "\(dir)/\(name)"
        if !FileManager.default.fileExists(atPath: "\(d)/rsa_key.priv") {
            try FileManager.default.createDirectory(atPath: "\(d)/hosts", withIntermediateDirectories: true)
            try Data("Name = \(name)\n".utf8).write(to: URL(fileURLWithPath: "\(d)/tinc.conf"))
            let r = try Command.run(["tincd", "-n", name, "-c", d, "-K", "2048"], timeout: 60)
            guard r.succeeded else { throw LabHarnessError("tincd -K for \(name): \(r.stderr)") }
        }
        return try TincRSAPrivateKey(contentsOfFile: "\(d)/rsa_key.priv")
    }

    /// A record for `name` with its own fresh key, signed by it.
    func signedRecord(_ name: String, overlay: [String], subnets: [String]) throws -> [UInt8] {
        let key = try key(name)
        let record = NodeRecord(name: name, underlay: .init(addresses: ["192.0.2.177"], port: 655),
                                overlay: .init(addresses: overlay, subnets: subnets),
                                bgp: .init(asn: UInt32(LabNames.asn), routerID: "192.0.2.177"), publicKey: key.publicKey)
        return try SignedRecord.sign(record, with: key).encoded()
    }
}

/// Runs a check on its own thread every `interval` until stopped, and collects every problem
/// it reports: what a window of "nothing happened" is checked with.
final class Watch: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String] = []
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    init(interval: Double, _ check: @escaping @Sendable () -> [String]) {
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let problems = check()
                lock.withLock { seen += problems }
                Thread.sleep(forTimeInterval: interval)
            }
            done.signal()
        }
    }

    /// Stops the checks; the distinct problems seen.
    func stop() -> [String] {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { Array(Set(seen)).sorted() }
    }
}

extension Watch {
    /// Every BGP protocol that BIRD (the lab's oracle, not the agent) shows in another state
    /// than Established, on every node.
    static func bgp(_ lab: Lab, _ nodes: [NodeSpec]) -> Watch {
        Watch(interval: 0.25) {
            nodes.flatMap { n -> [String] in
                guard let r = try? Command.run(["birdc", "-s", n.birdSocket, "show", "protocols"], timeout: 5), r.succeeded else {
                    return ["\(n.name): birdc failed"]
                }
                let bgp = BirdReplies.protocols(r.stdout).filter { $0.proto == "BGP" }
                if bgp.isEmpty { return ["\(n.name): no BGP protocol"] }
                return bgp.filter { !$0.established }.map { "\(n.name): \($0.name) \($0.state) \($0.info)" }
            }
        }
    }

    /// Every reading of one agent metric that differs from `expected` (or a scrape that failed).
    static func metric(_ lab: Lab, _ nodes: [NodeSpec], _ series: String, expected: Double) -> Watch {
        Watch(interval: 0.5) {
            nodes.compactMap { n in
                let value = LabHarness.agentMetrics(lab, n)?[series]
                return value == expected ? nil : "\(n.name): \(series) = \(value.map { "\($0)" } ?? "no answer")"
            }
        }
    }
}

/// Counts, on every node's interfaces, the outgoing packets (IPv4 by protocol, and ARP
/// requests by target address) to a set of addresses during a fixed window: an AF_PACKET
/// socket in the node's namespace, so it sees what leaves through tinc0 or ul0 whatever
/// process sent it.
final class PacketCapture: @unchecked Sendable {
    struct Key: Hashable, CustomStringConvertible {
        var destination: String
        /// `icmp`, `tcp`, `udp`, `ip<N>` or `arp`.
        var kind: String
        var description: String { "\(kind) \(destination)" }
    }

    private let lock = NSLock()
    private var results: [NodeSpec: Result<[Key: Int], LabHarnessError>] = [:]
    private let group = DispatchGroup()

    // One line instead of `import ...` lines, which scripts/check-imports.py would read as Swift imports.
    static let script = """
        json, socket, sys, time = map(__import__, ["json", "socket", "sys", "time"])
        window, ready, targets = float(sys.argv[1]), sys.argv[2], set(sys.argv[3:])
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
        s.settimeout(0.2)
        open(ready, "w").close()
        names = {1: "icmp", 6: "tcp", 17: "udp"}
        counts = {}
        end = time.monotonic() + window
        while time.monotonic() < end:
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] != socket.PACKET_OUTGOING:
                continue
            if addr[1] == 0x0800 and len(data) >= 20:
                dst, kind = socket.inet_ntoa(data[16:20]), names.get(data[9], "ip%d" % data[9])
            elif addr[1] == 0x0806 and len(data) >= 28:
                dst, kind = socket.inet_ntoa(data[24:28]), "arp"
            else:
                continue
            if dst in targets:
                k = kind + " " + dst
                counts[k] = counts.get(k, 0) + 1
        print(json.dumps(counts))
        """

    /// Starts one capture per node and returns once every one of them listens.
    init(_ lab: Lab, _ nodes: [NodeSpec], seconds: Double, destinations: [String]) throws {
        let token = "\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        let readyFiles = nodes.map { "/tmp/bml-trust-capture-\(token)-\($0.name).ready" }
        for (n, ready) in zip(nodes, readyFiles) {
            group.enter()
            Thread.detachNewThread { [self] in
                let argv = ["python3", "-c", Self.script, String(seconds), ready] + destinations
                let result: Result<[Key: Int], LabHarnessError>
                if let r = try? Netns.exec(n.namespace, argv, timeout: seconds + 20), r.succeeded,
                   let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Int] {
                    result = .success(Dictionary(uniqueKeysWithValues: json.map { k, v in
                        let parts = k.split(separator: " ")
                        return (Key(destination: String(parts.last ?? ""), kind: String(parts.first ?? "")), v)
                    }))
                } else {
                    result = .failure(LabHarnessError("packet capture in \(n.namespace) failed"))
                }
                lock.withLock { results[n] = result }
                try? FileManager.default.removeItem(atPath: ready)
                group.leave()
            }
        }
        let listening = LabHarness.eventually(15, interval: 0.05) {
            readyFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) } || lock.withLock { !results.isEmpty }
        }
        guard listening, lock.withLock({ results.isEmpty }) else {
            _ = group.wait(timeout: .now() + seconds + 30)
            throw LabHarnessError("the packet captures did not start: \(lock.withLock { results })")
        }
    }

    /// Waits for the window to end; per node, the packets seen by destination and kind.
    func wait() throws -> [NodeSpec: [Key: Int]] {
        _ = group.wait(timeout: .distantFuture)
        var out: [NodeSpec: [Key: Int]] = [:]
        for (n, r) in lock.withLock({ results }) { out[n] = try r.get() }
        return out
    }
}
