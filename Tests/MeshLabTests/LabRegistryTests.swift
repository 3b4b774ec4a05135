import Foundation
import XCTest
@testable import MeshLab

/// Issue 6 in the lab with `--keys agent`: three nodes that know only their own keys form the
/// mesh through the agents; hostile records, etcd failures, add-node, remove-node and a
/// `down` + `up --resume` follow on the same lab.
final class LabRegistryTests: XCTestCase {
    var dir: String?

    override func tearDown() {
        if let dir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    func metric(_ lab: Lab, _ n: NodeSpec, _ series: String) -> Double? {
        LabHarness.agentMetrics(lab, n)?[series]
    }

    /// Path -> (content, mtime) of every file under hosts/ and conf.d/, and tinc.conf.
    func tincFiles(_ nodes: [NodeSpec]) -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        for n in nodes {
            var paths = [n.tincConf]
            for d in [n.tincHostsDir, n.tincConfD] {
                paths += ((try? fm.contentsOfDirectory(atPath: d)) ?? []).map { "\(d)/\($0)" }
            }
            for p in paths {
                let mtime = ((try? fm.attributesOfItem(atPath: p))?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                let content = (try? String(contentsOfFile: p, encoding: .utf8)) ?? "<unreadable>"
                out[p] = "\(mtime)\n\(content)"
            }
        }
        return out
    }

    func hostNames(_ n: NodeSpec) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: n.tincHostsDir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func connectTo(_ n: NodeSpec) -> [String] {
        let text = (try? String(contentsOfFile: "\(n.tincConfD)/bgpmesh.conf", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.hasPrefix("ConnectTo = ") }.map { String($0.dropFirst(12)) }
    }

    func waitConverged(_ dir: String, _ what: String, timeout: Int = 120) throws -> Double {
        let start = Date()
        let r = try LabHarness.lab(["wait", "converged", "--timeout", String(timeout)], stateDir: dir, timeout: Double(timeout + 30))
        XCTAssertTrue(r.succeeded, "\(what): the lab did not converge: \(r.stderr)")
        return Date().timeIntervalSince(start)
    }

    func testAgentsFormTheMeshAndKeepItThroughHostileRecordsEtcdFailuresAndMembershipChanges() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("key distribution") }
        let dir = LabHarness.newStateDir()
        self.dir = dir
        func fault(_ args: String...) throws { try LabHarness.labOK(["fault"] + args, stateDir: dir, timeout: 60) }

        // 1. Cold start: only their own keys, no ConnectTo anywhere; the agents do the rest.
        let start = Date()
        try LabHarness.labOK(["up", "--nodes", "3", "--keys", "agent"] + agentArgs, stateDir: dir, timeout: 180)
        _ = try waitConverged(dir, "cold start")
        let cold = Date().timeIntervalSince(start)
        print(String(format: "*** --keys agent, 3 nodes: up -> converged in %.1f s (the agents alone distributed keys and ConnectTo) ***", cold))
        let lab = Lab(stateDir: dir)
        var nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        for n in nodes {
            let conf = try String(contentsOfFile: n.tincConf, encoding: .utf8)
            XCTAssertFalse(conf.split(separator: "\n").contains { $0.lowercased().hasPrefix("connectto") },
                           "\(n.name): the lab wrote ConnectTo into tinc.conf")
            XCTAssertEqual(hostNames(n), ["node1", "node2", "node3"])
            XCTAssertEqual(connectTo(n).count, 2, "\(n.name): \(connectTo(n))")
            XCTAssertEqual(metric(lab, n, "bgpmesh_registry_nodes{state=\"alive\"}"), 3)
        }

        // 2. Hostile records: each is rejected on every node and no file changes.
        var files = tincFiles(nodes)
        let node2Record = try lab.etcdctl(["get", "--print-value-only", LabNames.registryPrefix + "nodes/node2"])
        XCTAssertTrue(node2Record.succeeded, node2Record.stderr)
        var evil = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(node2Record.stdout.utf8)) as? [String: Any])
        evil["name"] = "evil"
        evil["public_key"] = "-----BEGIN RSA PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END RSA PUBLIC KEY-----\n"
        let evilJSON = String(decoding: try JSONSerialization.data(withJSONObject: evil), as: UTF8.self)
        let big = "/tmp/bml-registry-big-\(getpid())"
        try String(repeating: "x", count: 2_000_000).write(toFile: big, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: big) }
        let puts: [(String, String?, String?)] = [
            ("nodes/../x", node2Record.stdout.trimmingCharacters(in: .newlines), nil),
            ("nodes/evil", evilJSON, nil),
            ("nodes/huge", nil, big),
            ("nodes/mallory", node2Record.stdout.trimmingCharacters(in: .newlines), nil),
        ]
        for (key, value, file) in puts {
            let r = try lab.etcdctl(["put", LabNames.registryPrefix + key] + (value.map { [$0] } ?? []), stdinFile: file)
            XCTAssertTrue(r.succeeded, "etcdctl put \(key): \(r.stderr)")
        }
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(15) {
                ["invalid_name", "invalid_key", "oversized", "name_mismatch"].allSatisfy {
                    self.metric(lab, n, "bgpmesh_registry_rejected_records_total{reason=\"\($0)\"}") == 1
                }
            }, "\(n.name) did not reject each hostile record once")
        }
        Thread.sleep(forTimeInterval: 2) // an observation window: a file written late would show in it
        XCTAssertEqual(tincFiles(nodes), files, "a hostile record changed a file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(nodes[0].tincDir)/x"))
        for key in ["nodes/../x", "nodes/evil", "nodes/huge", "nodes/mallory"] {
            _ = try lab.etcdctl(["del", LabNames.registryPrefix + key])
        }

        // 3. etcd: one member down changes nothing; all down keeps every file; back, they resync.
        try fault("kill-etcd", "node3")
        Thread.sleep(forTimeInterval: 8) // the stimulus: one member stays down for 8 s
        for n in nodes {
            XCTAssertEqual(metric(lab, n, "bgpmesh_registry_synced"), 1, "\(n.name) lost the registry with one etcd member down")
            XCTAssertEqual(metric(lab, n, "bgpmesh_registry_published"), 1)
        }
        XCTAssertEqual(tincFiles(nodes), files)
        try fault("restart-etcd", "node3")

        for m in ["node1", "node2", "node3"] { try fault("kill-etcd", m) }
        let killed = Date()
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(45) {
                self.metric(lab, n, "bgpmesh_etcd_up") == 0 && self.metric(lab, n, "bgpmesh_registry_synced") == 0
            }, "\(n.name) does not report etcd down")
        }
        print(String(format: "*** all etcd members killed: every agent reports etcd down after %.1f s ***", Date().timeIntervalSince(killed)))
        Thread.sleep(forTimeInterval: 10) // the stimulus: etcd stays down for 10 s more
        XCTAssertEqual(tincFiles(nodes), files, "files changed while etcd was down")
        let status = try LabHarness.status(stateDir: dir)
        XCTAssertTrue(status.converged, "the mesh broke while etcd was down: \(status.missing)")
        for m in ["node1", "node2", "node3"] { try fault("restart-etcd", m) }
        let restarted = Date()
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(60) {
                self.metric(lab, n, "bgpmesh_registry_synced") == 1 && self.metric(lab, n, "bgpmesh_registry_published") == 1
                    && self.metric(lab, n, "bgpmesh_registry_nodes{state=\"alive\"}") == 3
            }, "\(n.name) did not resync after etcd came back")
        }
        print(String(format: "*** etcd back: every agent in sync again after %.1f s ***", Date().timeIntervalSince(restarted)))
        XCTAssertEqual(tincFiles(nodes), files, "the resync rewrote files that had not changed")

        // 4. add-node: node4 joins; the lab touches no other node, the agents install it.
        let confs = nodes.map { try? String(contentsOfFile: $0.tincConf, encoding: .utf8) }
        let added = Date()
        try LabHarness.labOK(["add-node"], stateDir: dir, timeout: 180)
        _ = try waitConverged(dir, "add-node")
        print(String(format: "*** add-node: node4 converged with the mesh in %.1f s ***", Date().timeIntervalSince(added)))
        for (n, conf) in zip(nodes, confs) {
            XCTAssertEqual(hostNames(n), ["node1", "node2", "node3", "node4"])
            XCTAssertEqual(try? String(contentsOfFile: n.tincConf, encoding: .utf8), conf)
        }
        let n4 = lab.node(4)
        XCTAssertEqual(hostNames(n4), ["node1", "node2", "node3", "node4"])
        XCTAssertEqual(connectTo(n4).count, 3)

        // 5. remove-node (which deletes nodes/node4): every agent drops its host file and ConnectTo.
        try LabHarness.labOK(["remove-node", "node4"], stateDir: dir, timeout: 120)
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(20) { !self.hostNames(n).contains("node4") && !self.connectTo(n).contains("node4") },
                          "\(n.name) still has node4: hosts \(hostNames(n)), ConnectTo \(connectTo(n))")
            XCTAssertEqual(metric(lab, n, "bgpmesh_registry_nodes{state=\"alive\"}").map { $0 + (metric(lab, n, "bgpmesh_registry_nodes{state=\"dead\"}") ?? 0) }, 3)
        }
        _ = try waitConverged(dir, "remove-node")

        // 6. down, then up again on the same files: nothing is rewritten.
        nodes = try LabState.load(stateDir: dir).specs(stateDir: dir)
        files = tincFiles(nodes)
        try LabHarness.labOK(["down"], stateDir: dir, timeout: 120)
        let resumed = Date()
        try LabHarness.labOK(["up", "--nodes", "3", "--keys", "agent", "--resume"] + agentArgs, stateDir: dir, timeout: 180)
        _ = try waitConverged(dir, "up --resume")
        print(String(format: "*** down + up --resume: converged in %.1f s ***", Date().timeIntervalSince(resumed)))
        for n in nodes {
            XCTAssertTrue(LabHarness.eventually(15) { self.metric(lab, n, "bgpmesh_registry_synced") == 1 })
            XCTAssertEqual(metric(lab, n, "bgpmesh_hostfile_writes_total"), 0, "\(n.name) rewrote host files after a restart")
            XCTAssertEqual(metric(lab, n, "bgpmesh_connectto_changes_total"), 0, "\(n.name) rewrote its ConnectTo after a restart")
        }
        XCTAssertEqual(tincFiles(nodes), files, "down + up --resume changed files")
    }
}
