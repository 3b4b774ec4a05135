import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `bgpmesh-lab chaos` is asked to do.
public struct ChaosOptions: Sendable {
    public var duration: Double
    public var seed: UInt64
    public var faults: [ChaosFault]
    public var limits = RepairLimits()
    /// The mesh must be converged this long after each heal.
    public var recoverTimeout: Double = 60
    /// Time left for a step's recovery when deciding whether it still fits in the duration.
    public var reserve: Double = 15
    /// Consecutive unanswered /healthz polls that make an agent "stopped answering".
    public var healthzMisses = 3

    public init(duration: Double, seed: UInt64, faults: [ChaosFault]) {
        self.duration = duration
        self.seed = seed
        self.faults = faults
    }
}

/// One fault of a run, as it went.
public struct ChaosStepResult: Codable, Sendable {
    public var step: ChaosStep
    public var fault: String
    /// Seconds since the run started.
    public var injected_at: Double
    public var healed_at: Double?
    /// Seconds from the injection until an agent reported a health problem or repaired something.
    public var detected_after: Double?
    /// Seconds from the injection until `status` first found the lab not converged.
    public var disturbed_after: Double?
    /// Seconds from the injection until the lab was converged again (while held or after the heal).
    public var recovered_after: Double?
    /// Seconds from the heal until converged with every file as before.
    public var converged_after_heal: Double?
    /// Repairs the agents took meanwhile, from their audit trails: "node2 restart_tincd ok" -> count.
    public var repairs: [String: Int] = [:]
    /// The rise of the agents' bgpmesh_repairs_total (not dry-run) over the step.
    public var repairs_counted: Double = 0
    public var inject: String = ""
    public var heal: String = ""
    public var error: String?
    public var violations: [String] = []
}

/// `bgpmesh-lab chaos --json`.
public struct ChaosReport: Codable, Sendable {
    public struct Violation: Codable, Sendable {
        public var at: Double
        public var step: Int?
        public var message: String
    }
    public var seed: UInt64
    public var duration: Double
    public var faults: [String]
    public var nodes: [String]
    public var limits: RepairLimits
    public var started_at: Date
    public var ended_at: Date?
    public var steps: [ChaosStepResult] = []
    public var violations: [Violation] = []
    public var stopped_early: String?
    public var cleanup: [String] = []
    /// Faults left out because this machine cannot inject them (the plan draws from the rest).
    public var unavailable: [String] = []

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    static func secs(_ v: Double?) -> String { v.map { String(format: "%.1f s", $0) } ?? "-" }

    /// One row per fault, then per fault kind the median and worst time to recover.
    public func table() -> String {
        var rows = [["#", "FAULT", "AT", "HOLD", "DETECT", "DISTURBED", "RECOVER", "AFTER HEAL", "REPAIRS", "VIOLATIONS"]]
        for r in steps {
            let repairs = r.repairs.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
            rows.append([String(r.step.index), r.step.label, Self.secs(r.injected_at), "\(r.step.hold) s",
                         Self.secs(r.detected_after), Self.secs(r.disturbed_after), Self.secs(r.recovered_after),
                         Self.secs(r.converged_after_heal), repairs.isEmpty ? "-" : repairs,
                         r.error.map { "error: \($0)" } ?? String(r.violations.count)])
        }
        var s = Self.render(rows)
        var kinds = [["FAULT KIND", "RUNS", "RECOVER MEDIAN", "RECOVER WORST", "AFTER HEAL MEDIAN", "AFTER HEAL WORST"]]
        for kind in ChaosFault.allCases {
            let runs = steps.filter { $0.step.fault == kind && $0.error == nil }
            guard !runs.isEmpty else { continue }
            let rec = runs.compactMap(\.recovered_after).sorted(), heal = runs.compactMap(\.converged_after_heal).sorted()
            kinds.append([kind.rawValue, String(runs.count), Self.secs(Self.median(rec)), Self.secs(rec.last),
                          Self.secs(Self.median(heal)), Self.secs(heal.last)])
        }
        s += "\n" + Self.render(kinds)
        s += "\nviolations: \(violations.count)\n"
        for v in violations { s += "  [\(Self.secs(v.at))]\(v.step.map { " step \($0)" } ?? "") \(v.message)\n" }
        if let why = stopped_early { s += "stopped early: \(why)\n" }
        return s
    }

    static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let m = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
    }

    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}

/// What one node's agent said in one poll.
struct AgentSample: Sendable {
    var node: String
    var running: Bool
    var paused: Bool
    var healthz: Bool
    var problems: [String]
    var events: [RepairEvent]
    /// Sum of bgpmesh_repairs_total without dry runs; nil when /metrics did not answer.
    var repairsCounted: Double?
}

/// Runs a chaos session against a running lab: faults from a seeded plan, each held, healed and
/// followed until the mesh is converged again, with the invariants checked at every poll.
public final class ChaosRunner: @unchecked Sendable {
    let lab: Lab
    let state: LabState
    let options: ChaosOptions
    let output: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopReason: String?

    public init(lab: Lab, state: LabState, options: ChaosOptions, output: @escaping @Sendable (String) -> Void) {
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

    // Run state (only the run's own thread touches it).
    var start = Date()
    var report: ChaosReport!
    var baseline = FileSnapshot(entries: [:])
    var events = Set<RepairEvent>()
    var counted: [String: Double] = [:]
    var healthzFailures: [String: Int] = [:]
    var reported = Set<String>()
    var current: Int?
    var scope = FileScope.none
    var isolated: String?
    var excusedAgent: String?

    var nodes: [NodeSpec] { state.specs(stateDir: lab.stateDir) }
    var elapsed: Double { Date().timeIntervalSince(start) }

    func say(_ s: String) { output(String(format: "[%6.1f s] ", elapsed) + s) }

    func violation(_ message: String) {
        guard !reported.contains(message) else { return }
        reported.insert(message)
        report.violations.append(.init(at: elapsed, step: current, message: message))
        if let c = current, let i = report.steps.firstIndex(where: { $0.step.index == c }) { report.steps[i].violations.append(message) }
        say("VIOLATION: \(message)")
    }

    public func run() throws(LabError) -> ChaosReport {
        start = Date()
        let names = nodes.map(\.name)
        var faults = options.faults
        var unavailable: [String] = []
        if faults.contains(.netem) && !lab.netemSupported() {
            faults.removeAll { $0 == .netem }
            unavailable.append("netem: this kernel has no netem or prio qdisc (sch_netem, sch_prio)")
        }
        if faults.contains(.loss), let why = lab.lossUnavailable() {
            faults.removeAll { $0 == .loss }
            unavailable.append("loss: \(why)")
        }
        report = ChaosReport(seed: options.seed, duration: options.duration, faults: faults.map(\.rawValue), nodes: names,
                             limits: options.limits, started_at: start)
        report.unavailable = unavailable
        for u in unavailable { say("left out \(u)") }
        var plan = try ChaosPlan(seed: options.seed, faults: faults, nodes: names,
                                 etcdMembers: state.etcdMembers(stateDir: lab.stateDir).map(\.name),
                                 holdRange: ChaosPlan.holdRange(duration: options.duration), gapRange: 3...10)
        say("chaos: seed \(options.seed), \(Int(options.duration)) s, faults \(faults.map(\.rawValue).joined(separator: ","))")
        try lab.waitConverged(state: state, timeout: 60)
        baseline = FileSnapshot.take(nodes)
        let first = sample()
        for a in first.agents { events.formUnion(a.events); if let c = a.repairsCounted { counted[a.node] = c } }
        let end = start.addingTimeInterval(options.duration)
        defer { cleanup() }
        while stopRequested == nil {
            let step = plan.next()
            // A step starts only if its hold and a typical recovery fit; the recovery wait is bounded
            // by recoverTimeout, so the run ends within duration + recoverTimeout.
            if Date().addingTimeInterval(Double(step.hold) + options.reserve) > end {
                say("no time left for step \(step.index) (\(step.label), hold \(step.hold) s + \(Int(options.reserve)) s); done")
                break
            }
            runStep(step)
            if stopRequested != nil { break }
            pollFor(Double(step.gap))
        }
        if let why = stopRequested { report.stopped_early = why }
        return report
    }

    func cleanup() {
        if current != nil, let i = report.steps.indices.last, report.steps[i].healed_at == nil {
            report.steps[i].heal = heal(report.steps[i].step)
            report.steps[i].healed_at = elapsed
        }
        current = nil
        let lines = lab.healAll(state: state).filter { !$0.hasPrefix("healed the underlay of") }
        report.cleanup = lines
        report.ended_at = Date()
        say("cleanup: " + (lines.isEmpty ? "no fault left to undo" : lines.joined(separator: "; ")))
    }

    // MARK: one step

    func runStep(_ step: ChaosStep) {
        current = step.index
        var r = ChaosStepResult(step: step, fault: step.fault.rawValue, injected_at: elapsed)
        report.steps.append(r)
        let idx = report.steps.count - 1
        let countedBefore = counted.values.reduce(0, +)
        let t0 = Date()
        say("step \(step.index): \(step.label), hold \(step.hold) s")
        do throws(LabError) {
            r.inject = try inject(step)
        } catch {
            r.error = error.description
            report.steps[idx] = r
            say("step \(step.index): could not inject: \(error.description)")
            _ = lab.healAll(state: state)
            current = nil
            return
        }
        report.steps[idx] = r
        say("  " + r.inject)
        scopeFor(step)
        // Hold, watching.
        let holdEnd = t0.addingTimeInterval(Double(step.hold))
        while Date() < holdEnd && stopRequested == nil { observe(idx, since: t0) }
        // Heal, then wait for convergence with every file as before.
        report.steps[idx].heal = heal(step)
        let healedAt = Date()
        report.steps[idx].healed_at = elapsed
        say("  healed: \(report.steps[idx].heal)")
        scope = .none
        isolated = nil
        let deadline = healedAt.addingTimeInterval(options.recoverTimeout)
        var last: LabStatus?
        while stopRequested == nil {
            let (st, filesOK) = observe(idx, since: t0, afterHeal: true)
            last = st
            if st.converged && filesOK {
                report.steps[idx].converged_after_heal = Date().timeIntervalSince(healedAt)
                if report.steps[idx].recovered_after == nil && report.steps[idx].disturbed_after != nil {
                    report.steps[idx].recovered_after = Date().timeIntervalSince(t0)
                }
                break
            }
            if Date() >= deadline {
                let why = (last?.missing.prefix(4).joined(separator: "; ")) ?? ""
                violation("not converged \(Int(options.recoverTimeout)) s after healing \(step.label): \(why.isEmpty ? "files differ from before the fault" : why)")
                break
            }
        }
        excusedAgent = nil
        report.steps[idx].repairs_counted = counted.values.reduce(0, +) - countedBefore
        let from = t0.timeIntervalSince1970 - 1
        var repairs: [String: Int] = [:]
        for e in events where e.time >= from && e.result != "dry_run" { repairs["\(e.node) \(e.action)\(e.target.isEmpty ? "" : " " + e.target) \(e.result)", default: 0] += 1 }
        report.steps[idx].repairs = repairs
        let s = report.steps[idx]
        say("  recovered: detect \(ChaosReport.secs(s.detected_after)), recover \(ChaosReport.secs(s.recovered_after)), after heal \(ChaosReport.secs(s.converged_after_heal)), repairs \(repairs.isEmpty ? "none" : repairs.map { "\($0.key)×\($0.value)" }.sorted().joined(separator: ", "))")
        current = nil
    }

    func scopeFor(_ step: ChaosStep) {
        switch step.fault {
        case .fillDisk: scope = FileScope(nodes: [step.node!])
        case .corruptHostFile: scope = FileScope(entries: ["\(step.node!) hosts/\(step.peer!)"])
        default: scope = .none
        }
        isolated = step.fault == .isolate ? step.node : nil
        excusedAgent = step.fault == .pauseAgent ? step.node : nil
    }

    func spec(_ name: String?) throws(LabError) -> NodeSpec {
        guard let name else { throw .invalidArgument("the step names no node") }
        return try lab.resolve(name, in: state)
    }

    func inject(_ step: ChaosStep) throws(LabError) -> String {
        let kind: FaultKind
        switch step.fault {
        case .pauseTincd: kind = .pauseTincd
        case .pauseBird: kind = .pauseBird
        case .pauseAgent: kind = .pauseAgent
        case .pauseEtcd: kind = .pauseEtcd
        case .killTincd: kind = .killTincd
        case .killBird: kind = .killBird
        case .netem: kind = .netem
        case .isolate: kind = .isolate
        case .fillDisk: kind = .fillDisk
        case .etcdNospace: kind = .etcdNospace
        case .corruptHostFile: kind = .corruptHostFile
        case .loss: kind = .loss
        }
        let opts = FaultOptions(loss: Double(step.loss ?? 0), delay: Double(step.delay ?? 0), both: step.both ?? false)
        return try lab.fault(kind, node: step.node, peer: step.peer, state: state, options: opts)
    }

    /// Undoes the step's fault; never throws (a failed undo is a violation, and heal-all follows).
    func heal(_ step: ChaosStep) -> String {
        do throws(LabError) {
            switch step.fault {
            case .pauseTincd: return try lab.fault(.resumeTincd, node: step.node, peer: nil, state: state)
            case .pauseBird: return try lab.fault(.resumeBird, node: step.node, peer: nil, state: state)
            case .pauseAgent: return try lab.fault(.resumeAgent, node: step.node, peer: nil, state: state)
            case .pauseEtcd: return try lab.fault(.resumeEtcd, node: step.node, peer: nil, state: state)
            case .killTincd, .killBird:
                let n = try spec(step.node)
                let d: DaemonKind = step.fault == .killTincd ? .tincd : .bird
                if lab.isRunning(d, n) { return "\(d.rawValue) on \(n.name) runs again (pid \(lab.pid(d, n) ?? 0)); nothing to start" }
                try lab.startDaemon(d, n, state: state)
                return "started \(d.rawValue) on \(n.name)"
            case .netem:
                var s = try lab.fault(.clearNetem, node: step.node, peer: nil, state: state)
                if step.both == true, let p = step.peer { s += "; " + (try lab.fault(.clearNetem, node: p, peer: nil, state: state)) }
                return s
            case .isolate: return try lab.fault(.heal, node: step.node, peer: nil, state: state)
            case .fillDisk: return try lab.fault(.freeDisk, node: step.node, peer: nil, state: state)
            case .etcdNospace: return try lab.fault(.clearEtcdNospace, node: nil, peer: nil, state: state)
            case .corruptHostFile: return try lab.fault(.restoreHostFile, node: step.node, peer: step.peer, state: state)
            case .loss: return try lab.fault(.clearLoss, node: step.node, peer: nil, state: state)
            }
        } catch {
            violation("the undo of \(step.label) failed: \(error.description)")
            return "failed: \(error.description)"
        }
    }

    // MARK: observing

    /// Polls for `seconds`, checking the invariants.
    func pollFor(_ seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end && stopRequested == nil { _ = observe(nil, since: nil) }
    }

    /// One poll (at least a second apart): lab status and every agent at once, then the checks.
    /// Returns the status and whether every file is as before the fault (scope ignored).
    @discardableResult
    func observe(_ idx: Int?, since t0: Date?, afterHeal: Bool = false) -> (LabStatus, Bool) {
        let began = Date()
        let s = sample()
        let files = FileSnapshot.take(nodes)
        let filesOK = ChaosInvariants.fileViolations(baseline: baseline, current: files, scope: .none, isolated: nil).isEmpty
        // Evidence from the agents.
        var newEvents = 0
        var problems: [String] = []
        for a in s.agents {
            for e in a.events where !events.contains(e) { events.insert(e); newEvents += 1 }
            if let c = a.repairsCounted { counted[a.node] = c }
            problems += a.problems.map { "\(a.node): \($0)" }
            check(agent: a)
        }
        if let idx, let t0 {
            let since = Date().timeIntervalSince(t0)
            if report.steps[idx].detected_after == nil && (!problems.isEmpty || newEvents > 0) {
                report.steps[idx].detected_after = since
                say("  detected: \(problems.first ?? "a repair")")
            }
            if report.steps[idx].disturbed_after == nil && !s.status.converged {
                report.steps[idx].disturbed_after = since
                say("  not converged: \(s.status.missing.prefix(2).joined(separator: "; "))")
            }
            if report.steps[idx].disturbed_after != nil && report.steps[idx].recovered_after == nil && s.status.converged && !afterHeal {
                report.steps[idx].recovered_after = since
                say("  converged again while the fault is held (\(String(format: "%.1f", since)) s)")
            }
        }
        for v in ChaosInvariants.fileViolations(baseline: baseline, current: files, scope: scope, isolated: isolated) { violation(v) }
        for v in ChaosInvariants.repairViolations(Array(events), limits: options.limits) { violation(v) }
        let rest = 1 - Date().timeIntervalSince(began)
        if rest > 0 { usleep(UInt32(rest * 1_000_000)) }
        return (s.status, filesOK)
    }

    /// An agent that is not running (unless its step killed or paused it) crashed; one that
    /// misses `healthzMisses` /healthz polls in a row stopped answering.
    func check(agent a: AgentSample) {
        guard state.agentBinary != nil else { return }
        if a.node == excusedAgent { healthzFailures[a.node] = 0; return }
        if !a.running { violation("\(a.node): the agent is not running (crashed?)"); return }
        if a.healthz { healthzFailures[a.node] = 0; return }
        healthzFailures[a.node, default: 0] += 1
        if healthzFailures[a.node]! == options.healthzMisses {
            violation("\(a.node): the agent did not answer /healthz \(options.healthzMisses) times in a row\(a.paused ? " (it is paused)" : "")")
        }
    }

    struct Sample { var status: LabStatus; var agents: [AgentSample] }

    func sample() -> Sample {
        let specs = nodes
        let agents = state.agentBinary != nil
        var tasks: [@Sendable () -> SampleBox] = [{ SampleBox(status: self.lab.status(state: self.state)) }]
        if agents { for n in specs { tasks.append { SampleBox(agent: self.agentSample(n)) } } }
        let deadline = StatusBudget.forLab(nodes: specs.count).total + 4
        let got = runParallel(tasks, deadline: deadline)
        let status = got[0]?.status ?? LabStatus(nodes: [], converged: false, missing: ["status did not answer within \(Int(deadline)) s"])
        let samples = got.dropFirst().enumerated().map { i, b in
            b?.agent ?? AgentSample(node: specs[i].name, running: lab.isRunning(.agent, specs[i]), paused: false, healthz: false,
                                    problems: [], events: [], repairsCounted: nil)
        }
        return Sample(status: status, agents: Array(samples))
    }

    struct SampleBox: Sendable {
        var status: LabStatus?
        var agent: AgentSample?
    }

    /// GET from inside the node's own namespace (an isolated node's agent still answers there).
    func agentGet(_ n: NodeSpec, _ path: String, timeout: Double) -> String? {
        let r = try? Netns.exec(n.namespace, ["curl", "-sS", "--fail", "--connect-timeout", "1", "--max-time", String(format: "%.1f", timeout),
                                              "http://\(n.agentListen)\(path)"], timeout: timeout + 2)
        guard let r, r.succeeded else { return nil }
        return r.stdout
    }

    func agentSample(_ n: NodeSpec) -> AgentSample {
        let pid = lab.pid(.agent, n)
        let paused = pid.map { processState($0) == "T" } ?? false
        var a = AgentSample(node: n.name, running: pid != nil, paused: paused, healthz: false, problems: [], events: [], repairsCounted: nil)
        guard pid != nil, !paused else { return a }
        a.healthz = agentGet(n, "/healthz", timeout: 1.5) != nil
        guard a.healthz else { return a }
        if let text = agentGet(n, "/api/v1/status", timeout: 2),
           let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            if let health = json["health"] as? [String: Any], let problems = health["problems"] as? [[String: Any]] {
                a.problems = problems.map { "\($0["kind"] as? String ?? "?") \($0["peer"] as? String ?? "")".trimmingCharacters(in: .whitespaces) }
            }
            for e in (json["recent_actions"] as? [[String: Any]]) ?? [] {
                guard let time = e["time"] as? Double, let action = e["action"] as? String else { continue }
                a.events.append(RepairEvent(node: n.name, time: time, action: action, target: e["target"] as? String ?? "",
                                            trigger: e["trigger"] as? String ?? "", result: e["result"] as? String ?? ""))
            }
        }
        if let text = agentGet(n, "/metrics", timeout: 2) {
            var sum = 0.0
            for line in text.split(separator: "\n") where line.hasPrefix("bgpmesh_repairs_total{") && !line.contains("result=\"dry_run\"") {
                if let sp = line.lastIndex(of: " "), let v = Double(line[line.index(after: sp)...]) { sum += v }
            }
            a.repairsCounted = sum
        }
        return a
    }
}
