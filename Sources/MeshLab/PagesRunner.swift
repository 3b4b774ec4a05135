import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `bgpmesh-lab pages` is asked to do.
public struct PagesOptions: Sendable {
    public var faults: [PagesFault]
    /// The longest a fault is held, in seconds.
    public var hold: Double
    /// The hold may end early after this many seconds, once nothing left could page before `hold`.
    public var minHold: Double
    /// The node the faults target (default: the last node that is no etcd member, else the last).
    public var node: String?
    /// Seconds the lab may take to converge after a heal.
    public var recoverTimeout: Double = 150
    /// Seconds to wait after a heal for this fault's alerts to resolve.
    public var settle: Double = 60
    /// Seconds to wait, before the first fault, for alerts left from the lab's start to clear.
    public var quietTimeout: Double = 180
    /// The whole run's budget in seconds: a fault starts only if its hold, `settle` and a minute
    /// more fit in what is left (nil: no budget; each fault is bounded anyway).
    public var duration: Double?

    public init(faults: [PagesFault], hold: Double, minHold: Double, node: String? = nil) {
        self.faults = faults
        self.hold = hold
        self.minHold = minHold
        self.node = node
    }
}

/// Injects each fault of the catalogue in turn, holds it, heals it, waits for the alerts to resolve
/// and the mesh to converge, and counts what the alert sink got: the notifications that reached a
/// human receiver, their alert names, and the deliveries to the agents' webhook.
public final class PagesRunner: @unchecked Sendable {
    let lab: Lab
    let state: LabState
    let options: PagesOptions
    let output: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopReason: String?
    var start = Date()
    var report: PagesReport!
    /// Seconds: the longest group_wait in the lab's alertmanager.yml (a firing alert's first
    /// notification waits that long).
    var groupWait: Double = 30
    /// Alert name -> its `for`, from Prometheus' rules.
    var ruleFor: [String: Double] = [:]
    /// `--node`, resolved.
    var target: NodeSpec?

    public init(lab: Lab, state: LabState, options: PagesOptions, output: @escaping @Sendable (String) -> Void) {
        self.lab = lab
        self.state = state
        self.options = options
        self.output = output
    }

    /// Asks the run to stop: it heals the current fault, undoes every fault and returns.
    public func requestStop(_ why: String) {
        lock.lock(); if stopReason == nil { stopReason = why }; lock.unlock()
    }

    var stopRequested: String? { lock.lock(); defer { lock.unlock() }; return stopReason }
    var nodes: [NodeSpec] { state.specs(stateDir: lab.stateDir) }
    var elapsed: Double { Date().timeIntervalSince(start) }
    func say(_ s: String) { output(String(format: "[%6.1f s] ", elapsed) + s) }

    public func run() throws(LabError) -> PagesReport {
        start = Date()
        guard state.agentBinary != nil else { throw .invalidArgument("pages needs the agents (the lab runs without them)") }
        guard options.hold >= 10, options.minHold >= 0, options.minHold <= options.hold else {
            throw .invalidArgument("--hold must be at least 10 s and --min-hold between 0 and --hold (got \(options.hold), \(options.minHold))")
        }
        if let name = options.node { target = try lab.resolve(name, in: state) }
        guard lab.httpOK(from: LabNames.monitoringNamespace, "\(lab.monitoring.sinkURL)/healthz") else {
            throw .invalidArgument("the alert sink does not answer at \(lab.monitoring.sinkURL) (a lab from before the sink? run `up` again; see \(lab.monitoring.log("sink")))")
        }
        report = PagesReport(nodes: nodes.map(\.name), faults: options.faults.map(\.rawValue), hold: options.hold,
                             min_hold: options.minHold, started_at: start)
        defer { cleanup() }
        groupWait = Self.longestGroupWait((try? lab.read(lab.monitoring.alertmanagerConfig)) ?? "") ?? 30
        ruleFor = try alertRuleDurations()
        let causes = Set(options.faults.flatMap(\.rootCauseAlerts))
        report.beyond_hold = ruleFor.filter { causes.contains($0.key) && $0.value + groupWait + 5 > options.hold }.sorted { $0.key < $1.key }
            .map { "\($0.key) (for \(Int($0.value)) s)" }
        say("pages: \(options.faults.count) faults, each held for its root-cause alert's `for` + group_wait + 20 s, "
            + "between \(Int(options.minHold)) and \(Int(options.hold)) s, "
            + "Alertmanager group_wait \(Int(groupWait)) s; \(ruleFor.count) alert rules")
        if !report.beyond_hold.isEmpty { say("root-cause alerts that cannot page within --hold: \(report.beyond_hold.joined(separator: ", "))") }
        try lab.waitConverged(state: state, timeout: options.recoverTimeout)
        // Alerts left from the lab's start would blur the first fault; wait (bounded) for them to clear.
        let quietEnd = Date().addingTimeInterval(options.quietTimeout)
        var active = activeAlerts()
        while !active.isEmpty && Date() < quietEnd && stopRequested == nil {
            usleep(3_000_000)
            active = activeAlerts()
        }
        report.baseline_alerts = active.map(\.text).sorted()
        if !active.isEmpty { say("active before the first fault (not counted): \(report.baseline_alerts.joined(separator: ", "))") }
        for (i, fault) in options.faults.enumerated() {
            if let why = stopRequested { report.stopped_early = why; break }
            if let d = options.duration, elapsed + holdFor(fault) + options.settle + 60 > d {
                report.not_run = options.faults[i...].map(\.rawValue)
                say("no time left for \(report.not_run.joined(separator: ", ")) within --duration \(Int(d)) s; done")
                break
            }
            runStep(fault, index: i + 1)
        }
        if let why = stopRequested, report.stopped_early == nil { report.stopped_early = why }
        // A late firing notification belongs to its fault by its alerts' start: read the sink once more.
        recount()
        return report
    }

    func cleanup() {
        for n in nodes { for d in [DaemonKind.tincd, .bird] { try? FileManager.default.removeItem(atPath: n.restartHold(d)) } }
        let lines = lab.healAll(state: state).filter { !$0.hasPrefix("healed the underlay of") }
        report.cleanup = lines
        report.ended_at = Date()
        say("cleanup: " + (lines.isEmpty ? "no fault left to undo" : lines.joined(separator: "; ")))
    }

    // MARK: one fault

    /// When each step's fault went in, for attribution (the next step's injection ends a step).
    var injections: [(idx: Int, at: Date, faulty: Set<String>, fault: PagesFault)] = []

    func runStep(_ fault: PagesFault, index: Int) {
        let (node, peer) = targets(fault)
        var s = PagesStep(fault: fault.rawValue, label: fault.rawValue + (node.map { " " + $0.name } ?? "") + (peer.map { " " + $0.name } ?? ""),
                          node: node?.name, peer: peer?.name)
        s.injected_at = elapsed
        report.steps.append(s)
        let idx = report.steps.count - 1
        let before = Set(firingNow(name: "RepairStorm"))
        let t0 = Date()
        say("fault \(index)/\(options.faults.count): \(s.label)")
        do throws(LabError) {
            report.steps[idx].inject = try inject(fault, node, peer)
        } catch {
            report.steps[idx].error = "could not inject: \(error.description)"
            say("  " + report.steps[idx].error!)
            _ = heal(fault, node, peer)
            return
        }
        injections.append((idx, t0, Set([node, peer].compactMap { $0?.name }), fault))
        say("  " + report.steps[idx].inject)
        // Hold: at most `hold`; after `minHold`, end once nothing pending can fire and notify before
        // `hold` and the last alert that fired has had its group_wait.
        let hold = holdFor(fault)
        report.steps[idx].hold_planned = hold
        let holdEnd = t0.addingTimeInterval(hold)
        var lastFiring = t0
        var seenFiring = Set<String>()
        var pendingNow: [PromAlert] = []
        report.steps[idx].hold_ended = "hold"
        while Date() < holdEnd && stopRequested == nil {
            usleep(3_000_000)
            let alerts = promAlerts()
            for a in alerts where a.state == "firing" && !seenFiring.contains(a.text) && (a.activeAt ?? .distantPast) >= t0.addingTimeInterval(-2) {
                seenFiring.insert(a.text); lastFiring = Date()
                say("  firing: \(a.text)")
            }
            pendingNow = alerts.filter { $0.state == "pending" }
            let canStillPage = pendingNow.contains { a in
                let due = (a.activeAt ?? Date()).addingTimeInterval(ruleFor[a.name] ?? 0)
                return due.addingTimeInterval(groupWait + 5) < holdEnd
            }
            let held = Date().timeIntervalSince(t0)
            if held >= options.minHold && !canStillPage && Date().timeIntervalSince(lastFiring) > groupWait + 10 {
                let ownActive = alerts.contains { ($0.activeAt ?? .distantPast) >= t0.addingTimeInterval(-2) }
                report.steps[idx].hold_ended = seenFiring.isEmpty && !ownActive ? "nothing active" : "quiet"
                break
            }
        }
        report.steps[idx].pending_at_heal = pendingNow.map(\.text).sorted()
        report.steps[idx].held = Date().timeIntervalSince(t0)
        report.steps[idx].heal = heal(fault, node, peer)
        let healedAt = Date()
        say("  healed after \(Int(report.steps[idx].held)) of \(Int(hold)) s (\(report.steps[idx].hold_ended)): \(report.steps[idx].heal)")
        // Converged again, then (bounded) this step's alerts resolved.
        do throws(LabError) {
            _ = try lab.waitConverged(state: state, timeout: options.recoverTimeout)
            report.steps[idx].converged_after_heal = Date().timeIntervalSince(healedAt)
        } catch {
            report.steps[idx].error = "not converged \(Int(options.recoverTimeout)) s after the heal: \(error.description)"
            say("  " + report.steps[idx].error! + "; heal-all")
            _ = lab.healAll(state: state)
        }
        let settleEnd = healedAt.addingTimeInterval(options.settle)
        var still = activeAlerts(since: t0)
        while !still.isEmpty && Date() < settleEnd && stopRequested == nil {
            usleep(3_000_000)
            still = activeAlerts(since: t0)
        }
        report.steps[idx].still_active = still.map(\.text).sorted()
        // Whatever fired in the step, and RepairStorm, from Prometheus' ALERTS series.
        let window = Int(Date().timeIntervalSince(t0).rounded(.up)) + 5
        report.steps[idx].fired = queryLabels("count by (alertname, node) (max_over_time(ALERTS{alertstate=\"firing\"}[\(window)s]))")
            .map { "\($0["alertname"] ?? "?"){node=\($0["node"] ?? "")}" }.filter { !$0.hasPrefix("Watchdog") }.sorted()
        let storms = Set(queryLabels("max by (node) (max_over_time(ALERTS{alertname=\"RepairStorm\", alertstate=\"firing\"}[\(window)s]))")
            .compactMap { $0["node"] }).subtracting(before)
        let faulty = Set([node, peer].compactMap { $0?.name })
        report.steps[idx].repair_storm_nodes = storms.sorted()
        report.steps[idx].repair_storm_healthy_nodes = storms.subtracting(faulty).sorted()
        var repairs: [String: Double] = [:]
        for (labels, v) in queryValues("sum by (node, action, result) (increase(bgpmesh_repairs_total[\(window)s])) > 0") {
            repairs["\(labels["node"] ?? "?") \(labels["action"] ?? "?") \(labels["result"] ?? "?")"] = (v * 10).rounded() / 10
        }
        report.steps[idx].repairs = repairs
        recount()
        let r = report.steps[idx]
        say("  pages \(r.human_notifications) [\(r.human_alerts.joined(separator: ","))], webhook \(r.webhook_deliveries) [\(r.webhook_alerts.joined(separator: ","))], "
            + "RepairStorm \(r.repair_storm_nodes.isEmpty ? "no" : r.repair_storm_nodes.joined(separator: ","))"
            + (r.still_active.isEmpty ? "" : "; still active: \(r.still_active.joined(separator: ", "))"))
    }

    /// Long enough for the fault's root-cause alert to fire and be notified: its `for` (the longest of
    /// those the rules have) plus the longest group_wait plus 20 s, between `minHold` and `hold`.
    func holdFor(_ fault: PagesFault) -> Double {
        let fors = fault.rootCauseAlerts.compactMap { ruleFor[$0] }
        guard let f = fors.max() else { return options.hold }
        return min(options.hold, max(options.minHold, f + groupWait + 20))
    }

    /// Recounts every step from the sink's file (attribution by the alerts' start).
    func recount() {
        let deliveries = SinkDelivery.read(lab.monitoring.sinkFile)
        for (k, inj) in injections.enumerated() {
            let until = k + 1 < injections.count ? injections[k + 1].at : nil
            PagesAttribution.fill(&report.steps[inj.idx], deliveries: deliveries, from: inj.at, until: until,
                                  faultyNodes: inj.faulty, rootCause: inj.fault.rootCauseAlerts)
        }
    }

    /// `pages --recount`: a report's counts again from a sink file (no lab needed).
    public static func recount(report path: String, sinkFile: String) throws(LabError) -> PagesReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "cannot read") }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        var report: PagesReport
        do { report = try dec.decode(PagesReport.self, from: data) } catch { throw .io(path: path, reason: "not a pages report: \(error)") }
        guard FileManager.default.fileExists(atPath: sinkFile) else { throw .io(path: sinkFile, reason: "no sink file") }
        report.recount(SinkDelivery.read(sinkFile))
        return report
    }

    /// The node (and peer) a fault targets.
    func targets(_ fault: PagesFault) -> (NodeSpec?, NodeSpec?) {
        let all = nodes
        let members = state.etcdMembers(stateDir: lab.stateDir)
        let target = self.target ?? all.last(where: { !$0.isEtcdMember }) ?? all.last!
        let other = all.first { $0.index != target.index }
        switch fault {
        case .killEtcd, .pauseEtcd:
            let leader = etcdLeader(members)
            return (members.last { $0.index != leader?.index } ?? members.last, nil)
        case .etcdMemberDown:
            return (etcdLeader(members) ?? members.first, nil)
        case .cutLink:
            return (target, other)
        case .deleteHostKey:
            // hosts/<target> removed on the other node.
            return (other, target)
        default:
            return (target, nil)
        }
    }

    func etcdLeader(_ members: [NodeSpec]) -> NodeSpec? {
        for m in members where lab.isRunning(.etcd, m) {
            guard let r = try? Netns.exec(m.namespace, ["etcdctl", "--endpoints", m.etcdClientURL, "--dial-timeout=2s",
                                                        "--command-timeout=3s", "endpoint", "status", "-w", "json"], timeout: 10),
                  r.succeeded, let id = Lab.jsonUInt(r.stdout, key: "member_id"), let leader = Lab.jsonUInt(r.stdout, key: "leader") else { continue }
            if id == leader { return m }
        }
        return nil
    }

    func inject(_ fault: PagesFault, _ node: NodeSpec?, _ peer: NodeSpec?) throws(LabError) -> String {
        guard let n = node else { throw .invalidArgument("\(fault.rawValue): no node to target") }
        if let d = fault.heldDaemon {
            try lab.mkdir(n.runDir)
            try lab.write(n.restartHold(d), "held by bgpmesh-lab pages (\(fault.rawValue))\n")
        }
        let s: String
        switch fault {
        case .killTincd: s = try lab.fault(.killTincd, node: n.name, peer: nil, state: state)
        case .pauseTincd: s = try lab.fault(.pauseTincd, node: n.name, peer: nil, state: state)
        case .killBird: s = try lab.fault(.killBird, node: n.name, peer: nil, state: state)
        case .pauseBird: s = try lab.fault(.pauseBird, node: n.name, peer: nil, state: state)
        case .killAgent: s = try lab.fault(.killAgent, node: n.name, peer: nil, state: state)
        case .pauseAgent: s = try lab.fault(.pauseAgent, node: n.name, peer: nil, state: state)
        case .killEtcd: s = try lab.fault(.killEtcd, node: n.name, peer: nil, state: state)
        case .pauseEtcd: s = try lab.fault(.pauseEtcd, node: n.name, peer: nil, state: state)
        case .cutLink: s = try lab.fault(.cutLink, node: n.name, peer: peer?.name, state: state)
        case .isolate: s = try lab.fault(.isolate, node: n.name, peer: nil, state: state)
        case .deleteHostKey: s = try lab.fault(.deleteHostKey, node: n.name, peer: peer?.name, state: state)
        case .dropConnectTo: s = try lab.fault(.dropConnectTo, node: n.name, peer: nil, state: state)
        case .etcdMemberDown:
            guard let p = lab.pid(.etcd, n) else { throw .invalidArgument("etcd on \(n.name) is not running") }
            lab.stopDaemon(.etcd, n, hard: false)
            s = "stopped the etcd leader on \(n.name) (pid \(p), SIGTERM)"
        }
        return s + (fault.heldDaemon.map { "; its restart is held (\(n.restartHold($0)))" } ?? "")
    }

    /// Undoes the fault; never throws (a failed undo is logged, heal-all follows).
    func heal(_ fault: PagesFault, _ node: NodeSpec?, _ peer: NodeSpec?) -> String {
        guard let n = node else { return "nothing to heal" }
        if let d = fault.heldDaemon { try? FileManager.default.removeItem(atPath: n.restartHold(d)) }
        do throws(LabError) {
            switch fault {
            case .killTincd, .pauseTincd, .killBird, .pauseBird, .killAgent, .pauseAgent, .killEtcd, .pauseEtcd, .etcdMemberDown:
                let d = lab.daemon(of: fault == .etcdMemberDown ? .killEtcd : FaultKind(rawValue: fault.rawValue)!)
                var said: [String] = []
                if FileManager.default.fileExists(atPath: lab.pausedRecord(d, n)) {
                    said.append(try lab.pauseFault(FaultKind(rawValue: "resume-\(d.rawValue)")!, n, state: state))
                }
                if !lab.isRunning(d, n) {
                    try lab.startDaemon(d, n, state: state)
                    said.append("started \(d.rawValue) on \(n.name)")
                } else if said.isEmpty {
                    said.append("\(d.rawValue) on \(n.name) runs (pid \(lab.pid(d, n) ?? 0))")
                }
                return said.joined(separator: "; ")
            case .cutLink: return try lab.fault(.healLink, node: n.name, peer: peer?.name, state: state)
            case .isolate: return try lab.fault(.heal, node: n.name, peer: nil, state: state)
            case .deleteHostKey:
                guard let p = peer else { return "no peer" }
                if FileManager.default.fileExists(atPath: "\(n.tincHostsDir)/\(p.name)") {
                    try? FileManager.default.removeItem(atPath: "\(n.faultDir)/hosts-\(p.name)")
                    return "hosts/\(p.name) on \(n.name) is back (the agent reinstalled it)"
                }
                return try lab.fault(.restoreHostKey, node: n.name, peer: p.name, state: state)
            case .dropConnectTo: return try lab.fault(.restoreConnectTo, node: n.name, peer: nil, state: state)
            }
        } catch {
            say("  the heal failed: \(error.description); heal-all")
            return "failed: \(error.description); heal-all: " + lab.healAll(state: state).joined(separator: "; ")
        }
    }

    // MARK: Prometheus

    struct PromAlert {
        var name: String
        var labels: [String: String]
        var state: String
        var activeAt: Date?
        var text: String { PagesAttribution.describe(.init(name: name, status: state, labels: labels, startsAt: activeAt)) + " " + state }
    }

    func promJSON(_ path: String) -> [String: Any]? {
        guard let body = try? lab.httpGet(from: LabNames.monitoringNamespace, lab.monitoring.prometheusURL + path, timeout: 10),
              let obj = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              obj["status"] as? String == "success" else { return nil }
        return obj["data"] as? [String: Any]
    }

    /// Prometheus' pending and firing alerts, Watchdog left out.
    func promAlerts() -> [PromAlert] {
        let list = promJSON("/api/v1/alerts")?["alerts"] as? [[String: Any]] ?? []
        return list.compactMap { a in
            let labels = a["labels"] as? [String: String] ?? [:]
            guard let name = labels["alertname"], !PagesAttribution.ignoredAlerts.contains(name) else { return nil }
            return PromAlert(name: name, labels: labels, state: a["state"] as? String ?? "?",
                             activeAt: (a["activeAt"] as? String).flatMap(SinkDelivery.parseTime))
        }
    }

    /// Pending or firing alerts (that became active at or after `since`, when given).
    func activeAlerts(since: Date? = nil) -> [PromAlert] {
        promAlerts().filter { a in since.map { (a.activeAt ?? .distantPast) >= $0.addingTimeInterval(-2) } ?? true }
    }

    func firingNow(name: String) -> [String] {
        promAlerts().filter { $0.name == name && $0.state == "firing" }.compactMap { $0.labels["node"] }
    }

    func alertRuleDurations() throws(LabError) -> [String: Double] {
        guard let groups = promJSON("/api/v1/rules?type=alert")?["groups"] as? [[String: Any]] else {
            throw .commandFailed(command: "GET \(lab.monitoring.prometheusURL)/api/v1/rules", status: 0, stderr: "no answer from Prometheus")
        }
        var out: [String: Double] = [:]
        for g in groups { for r in g["rules"] as? [[String: Any]] ?? [] {
            if let n = r["name"] as? String { out[n] = max(out[n] ?? 0, (r["duration"] as? Double) ?? 0) }
        } }
        return out
    }

    func query(_ expr: String) -> [[String: Any]] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let q = expr.addingPercentEncoding(withAllowedCharacters: allowed) ?? expr
        return promJSON("/api/v1/query?query=\(q)")?["result"] as? [[String: Any]] ?? []
    }

    func queryLabels(_ expr: String) -> [[String: String]] { query(expr).map { $0["metric"] as? [String: String] ?? [:] } }

    func queryValues(_ expr: String) -> [([String: String], Double)] {
        query(expr).compactMap { r in
            guard let v = r["value"] as? [Any], v.count == 2, let s = v[1] as? String, let d = Double(s) else { return nil }
            return (r["metric"] as? [String: String] ?? [:], d)
        }
    }

    /// The longest `group_wait:` in an alertmanager.yml, in seconds.
    static func longestGroupWait(_ yaml: String) -> Double? {
        let values = yaml.split(separator: "\n").compactMap { line -> Double? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("group_wait:") else { return nil }
            let v = t.dropFirst("group_wait:".count).split(separator: "#").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return ChaosDuration.parse(v)
        }
        return values.max()
    }
}
