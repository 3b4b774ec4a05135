import Foundation
import XCTest
@testable import MeshLab

/// The monitoring bundle against the lab's real Prometheus and Alertmanager: the lab loads the
/// repo's rules and Alertmanager routes, every rule evaluates without error, and every PromQL
/// target of every Grafana dashboard returns data once the mesh has converged.
final class MonitoringBundleLabTests: XCTestCase {
    /// Series that cannot have data in a healthy, freshly converged lab; a target that mentions one
    /// may come back empty. Each entry must match some dashboard target.
    static let allowlist: [String: String] = [
        "bgpmesh_health_problems": "has series only while a problem is present (a converged lab has none)",
        "bgpmesh_repairs_total": "has series only after a repair ran; this lab runs repair.mode=off so faults stay for the alerts",
        "bgpmesh_etcd_request_failures_total": "a series appears with the first failed etcd request (faults)",
        "bird_bgp_last_error_info": "only while BIRD shows a last error (faults)",
        "ALERTS{": "only while an alert fires (faults)",
        "bird_channel_limit_hit": "only for channels with a route limit; the lab's bird.conf sets none",
        "bird_bfd_": "only with BFD sessions; the lab's bird.conf runs none",
        "bgpmesh_registry_refused_node": "has series only while a registry record is refused (faults)",
        "bgpmesh_registry_peer_key_info": "new with issue 18 (the key each agent trusts per peer): absent from agents built before it; RegistryFingerprintMismatch also reads tinc_host_key_info",
    ]

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    struct Target {
        let dashboard: String
        let panel: String
        let expr: String
        var allowedBecause: String? {
            MonitoringBundleLabTests.allowlist.first { expr.contains($0.key) }.map { "\($0.key): \($0.value)" }
        }
    }

    /// Every PromQL target of grafana/dashboards/*.json, rows' nested panels included.
    static func dashboardTargets() throws -> [Target] {
        let dir = "\(repoRoot)/grafana/dashboards"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted()
        var out: [Target] = []
        for f in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(f)"))
            guard let dash = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw NSError(domain: "dashboard", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(f) is no JSON object"])
            }
            var panels = dash["panels"] as? [[String: Any]] ?? []
            while !panels.isEmpty {
                let p = panels.removeFirst()
                panels += p["panels"] as? [[String: Any]] ?? []
                for t in p["targets"] as? [[String: Any]] ?? [] {
                    if let e = t["expr"] as? String {
                        out.append(Target(dashboard: f, panel: p["title"] as? String ?? "?", expr: e))
                    }
                }
            }
        }
        return out
    }

    /// Grafana's variables as Grafana would expand them: the lab's jobs (the dashboards' `job` and
    /// `etcd_job` variables), "All" for the others.
    static let variables = [("__rate_interval", "1m"), ("__interval", "15s"), ("__range", "1h"), ("session", ".*"), ("node", ".*"),
                            ("member", ".*"), ("etcd_job", "etcd"), ("job", "bgpmesh-agent")]
    static func expand(_ expr: String) -> String {
        var e = expr
        for (k, v) in variables {
            e = e.replacingOccurrences(of: "${\(k)}", with: v).replacingOccurrences(of: "$\(k)", with: v)
        }
        return e
    }

    static func queryURL(_ base: String, _ expr: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "\(base)/api/v1/query?query=\(expr.addingPercentEncoding(withAllowedCharacters: allowed)!)"
    }

    /// The `data` of a Prometheus API answer; fails on an error status.
    func apiData(_ lab: Lab, _ url: String) throws -> Any? {
        let body = try lab.httpGet(from: LabNames.monitoringNamespace, url, timeout: 10)
        let obj = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["status"] as? String, "success", "\(url): \(body.prefix(300))")
        return obj?["data"]
    }

    func resultCount(_ lab: Lab, _ expr: String) throws -> Int {
        let data = try apiData(lab, Self.queryURL(lab.monitoring.prometheusURL, expr)) as? [String: Any]
        if data?["resultType"] as? String == "scalar" { return 1 }
        return (data?["result"] as? [Any])?.count ?? 0
    }

    nonisolated(unsafe) static var stateDir: String?
    nonisolated(unsafe) static var setupError: String?
    nonisolated(unsafe) static var upAt = Date()

    /// One converged 3-node lab for the class; class tearDown takes it down.
    func sharedLab() throws -> Lab {
        try LabHarness.requireLabEnvironment(allowRunningLab: Self.stateDir != nil)
        if let err = Self.setupError { throw LabHarnessError(err) }
        if Self.stateDir == nil {
            let agentArgs = try LabHarness.agentArguments()
            guard !agentArgs.contains("--no-agents") else {
                throw LabHarness.agentsAbsent("the monitoring bundle")
            }
            let dir = LabHarness.newStateDir()
            Self.stateDir = dir
            Self.upAt = Date()
            // Keys from the agents (so the registry series exist), repairs off (so a fault stays
            // long enough for its alert to fire).
            let up = ["up", "--nodes", "3", "--keys", "agent", "--agent-arg=--repair.mode", "--agent-arg=off"]
            for (args, timeout) in [(up + agentArgs, 180.0),
                                    (["wait", "converged", "--timeout", "120"], 150.0)] {
                let r = try LabHarness.lab(args, stateDir: dir, timeout: timeout)
                guard r.succeeded else {
                    Self.setupError = "bgpmesh-lab \(args[0]) failed: \(r.stderr)\(r.stdout)"
                    throw LabHarnessError(Self.setupError!)
                }
            }
        }
        return Lab(stateDir: Self.stateDir!)
    }

    override class func tearDown() {
        if let dir = stateDir { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        super.tearDown()
    }

    func testDashboardsRulesAndRoutesAgainstTheLab() throws {
        let targets = try Self.dashboardTargets()
        XCTAssertGreaterThan(targets.count, 60, "dashboard targets")
        // Every variable a query uses is set here (a `$name` left in a query would make it fail).
        for t in targets where Self.expand(t.expr).contains("$") {
            XCTFail("\(t.dashboard) \"\(t.panel)\": a variable the test does not set: \(Self.expand(t.expr))")
        }
        let ruleText = try String(contentsOfFile: "\(Self.repoRoot)/prometheus/rules/bgpmesh.rules.yml", encoding: .utf8)
        for key in Self.allowlist.keys where !targets.contains(where: { $0.expr.contains(key) }) && !ruleText.contains(key) {
            XCTFail("allowlist entry \(key) matches no dashboard target and no rule; remove it")
        }
        let lab = try sharedLab()
        let started = Self.upAt

        // The lab runs the repo's files: its rules, and Alertmanager routes to each node's agent.
        let alertNames = ruleText.components(separatedBy: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("- alert: ") ? String(t.dropFirst("- alert: ".count)) : nil
        }
        XCTAssertGreaterThanOrEqual(alertNames.count, 20)
        let amStatus = try lab.httpGet(from: LabNames.monitoringNamespace, "\(lab.monitoring.alertmanagerURL)/api/v2/status")
        for n in 1...3 {
            XCTAssertTrue(amStatus.contains("http://192.0.2.\(n):10179/api/v1/alerts"), "Alertmanager has no webhook for node\(n)")
        }

        // Every PromQL target returns data; rate() windows need a few scrapes, so retry until a deadline.
        var pending = targets.filter { $0.allowedBecause == nil }
        let deadline = Date().addingTimeInterval(90)
        while !pending.isEmpty && Date() < deadline {
            pending = pending.filter { t in
                do { return try resultCount(lab, Self.expand(t.expr)) == 0 } catch {
                    XCTFail("\(t.dashboard) \"\(t.panel)\": Prometheus refuses \(Self.expand(t.expr)): \(error)")
                    return false
                }
            }
            if !pending.isEmpty { Thread.sleep(forTimeInterval: 3) }
        }
        for t in pending {
            XCTFail("\(t.dashboard) \"\(t.panel)\": no data for \(Self.expand(t.expr))")
        }
        // Allowlisted targets may be empty; an entry whose every target (and rule metric) has data
        // is no longer needed.
        var entryHasEmpty = Set<String>()
        for t in targets {
            guard let why = t.allowedBecause else { continue }
            let n: Int
            do { n = try resultCount(lab, Self.expand(t.expr)) } catch {
                XCTFail("\(t.dashboard) \"\(t.panel)\": Prometheus refuses \(Self.expand(t.expr)): \(error)")
                continue
            }
            if n == 0 {
                entryHasEmpty.insert(String(why.prefix { $0 != ":" }))
                print("allowlisted, empty (\(why)): \(t.dashboard) \"\(t.panel)\"")
            }
        }

        // Every metric the alert rules read exists in the lab, unless allowlisted (catches typos
        // that promtool cannot see).
        let ruleLines = ruleText.components(separatedBy: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        let nameRegex = try NSRegularExpression(pattern: #"(?<![:\w])(bird|tinc|bgpmesh|etcd)_[a-z0-9_]+(?![:\w])"#)
        var ruleMetrics = Set<String>()
        for line in ruleLines {
            let ns = line as NSString
            for m in nameRegex.matches(in: line, range: NSRange(location: 0, length: ns.length)) {
                ruleMetrics.insert(ns.substring(with: m.range))
            }
        }
        XCTAssertGreaterThan(ruleMetrics.count, 15)
        for name in ruleMetrics.sorted() {
            let n = try resultCount(lab, "count({__name__=\"\(name)\"})")
            if let key = Self.allowlist.keys.first(where: { name.hasPrefix($0) }) {
                if n == 0 { entryHasEmpty.insert(key) }
            } else {
                XCTAssertGreaterThan(n, 0, "the rules read \(name), which the lab's Prometheus does not have")
            }
        }
        for key in Self.allowlist.keys.sorted() where !entryHasEmpty.contains(key) {
            print("*** allowlist entry \(key) (\(Self.allowlist[key]!)): everything it covers has data now; remove it ***")
        }

        // Every rule of the repo is loaded and evaluates without error on the lab's real series.
        let rules = try apiData(lab, "\(lab.monitoring.prometheusURL)/api/v1/rules") as? [String: Any]
        let groups = rules?["groups"] as? [[String: Any]] ?? []
        let loaded = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        let loadedAlerts = Set(loaded.filter { $0["type"] as? String == "alerting" }.compactMap { $0["name"] as? String })
        XCTAssertEqual(loadedAlerts, Set(alertNames), "the lab's Prometheus runs prometheus/rules/bgpmesh.rules.yml")
        for r in loaded where r["health"] as? String != "ok" {
            XCTFail("rule \(r["name"] ?? "?") health \(r["health"] ?? "?"): \(r["lastError"] ?? "")")
        }
        // A converged lab fires none of the mesh alerts. Alerts that went pending while the
        // agents were still forming the mesh clear once their windows (`max_over_time(...[2m])`
        // and the like) no longer hold the start-up samples; none of them may reach firing.
        var active: [String] = []
        let cleared = LabHarness.eventually(180, interval: 5) {
            let data = (try? self.apiData(lab, Self.queryURL(lab.monitoring.prometheusURL, #"ALERTS{component=~"bgp|mesh"}"#))) as? [String: Any]
            active = ((data?["result"] as? [[String: Any]]) ?? []).compactMap { r in
                (r["metric"] as? [String: String]).map { "\($0["alertname"] ?? "?")/\($0["node"] ?? "?")/\($0["alertstate"] ?? "?")" }
            }
            XCTAssertFalse(active.contains { $0.hasSuffix("/firing") }, "a mesh alert fired on a lab that converged: \(active)")
            return active.isEmpty
        }
        XCTAssertTrue(cleared, "mesh alerts still active 3 minutes into a converged lab: \(active)")

        // Relabelling: tinc's per-node series name the peer, never exported_node.
        XCTAssertEqual(try resultCount(lab, #"tinc_node_reachable{node="node1", peer="node2"}"#), 1)
        XCTAssertEqual(try resultCount(lab, #"{exported_node!=""}"#), 0)
        print(String(format: "*** MonitoringBundleLabTests: %d dashboard targets (%d allowlisted) checked; %.1f s since up ***",
                     targets.count, targets.filter { $0.allowedBecause != nil }.count, Date().timeIntervalSince(started)))
    }

    /// Waits until `expr` returns at least one series, at most `timeout` seconds.
    func waitForSeries(_ lab: Lab, _ expr: String, timeout: Double) -> Bool {
        LabHarness.eventually(timeout, interval: 2) { ((try? resultCount(lab, expr)) ?? 0) > 0 }
    }

    /// Real faults raise the repo's alerts in the lab's Prometheus, and Alertmanager routes a mesh
    /// alert to the agent of its node and to humans.
    func testFaultsRaiseAlertsThatAlertmanagerRoutesToTheNodesAgent() throws {
        let lab = try sharedLab()
        // A missing host key: HostKeyMissing on node1 for peer node2 (pending; `for` is 2 minutes).
        try LabHarness.labOK(["fault", "delete-host-key", "node1", "node2"], stateDir: lab.stateDir)
        XCTAssertTrue(waitForSeries(lab, #"ALERTS{alertname="HostKeyMissing", node="node1", peer="node2", component="mesh"}"#, timeout: 60),
                      "HostKeyMissing{node1, peer=node2} not raised after deleting hosts/node2 on node1")
        try LabHarness.labOK(["fault", "restore-host-key", "node1", "node2"], stateDir: lab.stateDir)

        // A dead BIRD: MeshDaemonDown fires after its minute and reaches Alertmanager, which routes it
        // to node2's agent and to humans.
        try LabHarness.labOK(["fault", "kill-bird", "node2"], stateDir: lab.stateDir)
        defer { _ = try? LabHarness.lab(["fault", "restart-bird", "node2"], stateDir: lab.stateDir) }
        XCTAssertTrue(waitForSeries(lab, #"ALERTS{alertname="MeshDaemonDown", node="node2", daemon="bird", alertstate="firing"}"#, timeout: 120),
                      "MeshDaemonDown{node2, bird} did not fire within 2 minutes of kill-bird")
        var receivers: Set<String> = []
        _ = LabHarness.eventually(30, interval: 2) {
            guard let body = try? lab.httpGet(from: LabNames.monitoringNamespace,
                                              "\(lab.monitoring.alertmanagerURL)/api/v2/alerts?filter=alertname%3D%22MeshDaemonDown%22"),
                  let alerts = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] else { return false }
            for a in alerts where (a["labels"] as? [String: String])?["node"] == "node2" {
                receivers = Set((a["receivers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
            }
            return !receivers.isEmpty
        }
        XCTAssertEqual(receivers, ["agent-node2", "humans"], "Alertmanager's receivers for MeshDaemonDown on node2")
    }
}
