import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// The health model and repair loop (issue 7): every `interval` it builds a `MeshState`,
/// scores it, asks the `RepairPolicy` what to do and has the `RepairExecutor` do it (or only
/// logs it in dry-run). Webhook and manual requests go through the same policy and guards.
public actor RepairController: RepairService {
    public struct Settings: Sendable {
        public var mode: RepairMode = .on
        public var interval: Duration = .seconds(1)
        public var policy = RepairPolicy.Settings()
        public var auditSize = 100

        public init() {}
    }

    /// One entry of the audit trail in /api/v1/status.
    public struct AuditEntry: Sendable, Codable, Equatable {
        public var time: Double
        public var action: String
        public var target: String
        public var trigger: String
        /// `ok`, `failed` or `dry_run`.
        public var result: String
        public var reason: String
        public var detail: String
        public var durationSeconds: Double

        enum CodingKeys: String, CodingKey {
            case time, action, target, trigger, result, reason, detail
            case durationSeconds = "duration_seconds"
        }
    }

    public nonisolated let settings: Settings
    public nonisolated let metrics = RepairMetrics()
    nonisolated let sources: MeshStateSources
    nonisolated let executor: RepairExecutor
    nonisolated let logger: Logger
    nonisolated let policy: RepairPolicy
    nonisolated let clock: AgentClock

    private var history = RepairHistory()
    private var builder = MeshStateBuilder()
    private var lastSkip: [RepairAction: RepairSkipReason] = [:]
    private var pending: [(id: UInt64, request: RepairRequest)] = []
    private var nextID: UInt64 = 1
    private var audit: [AuditEntry] = []
    private var lastState = MeshState()
    private var lastReport = HealthReport(score: 1, problems: [])

    public init(settings: Settings, sources: MeshStateSources, executor: RepairExecutor, clock: AgentClock = .system, logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.sources = sources
        self.executor = executor
        var repairLogger = logger
        repairLogger[metadataKey: "component"] = "repair"
        self.logger = repairLogger
        self.policy = RepairPolicy(settings: settings.policy)
        metrics.values.withLock { $0.mode = settings.mode }
    }

    public func run() async {
        logger.info("repair loop starting", metadata: ["mode": "\(settings.mode.rawValue)", "interval": "\(DurationSyntax.format(settings.interval))"])
        await clock.repeatEvery(settings.interval) { await tick() }
    }

    /// One round: state, score, requests, then the policy's own findings.
    public func tick() async {
        let now = clock.now()
        let state = await buildState(now: now)
        let report = HealthModel.evaluate(state)
        // A problem is the same problem while its kind and peer are (its reason text counts seconds).
        func keys(_ r: HealthReport) -> Set<String> { Set(r.problems.map { "\($0.kind.rawValue)/\($0.peer)" }) }
        if keys(report) != keys(lastReport) {
            let before = keys(lastReport), now = keys(report)
            let added = report.problems.filter { !before.contains("\($0.kind.rawValue)/\($0.peer)") }
            let cleared = lastReport.problems.filter { !now.contains("\($0.kind.rawValue)/\($0.peer)") }
            for p in added { logger.notice("health: \(p.reason)", metadata: ["kind": "\(p.kind.rawValue)", "peer": "\(p.peer)"]) }
            for p in cleared { logger.info("health: cleared \(p.kind.rawValue)", metadata: ["peer": "\(p.peer)"]) }
        }
        lastState = state
        lastReport = report
        metrics.values.withLock {
            $0.score = report.score
            $0.problems = report.problems
        }

        // Requests from the webhook and by hand.
        let requests = pending
        pending.removeAll()
        for (_, request) in requests { await handle(request, state: state, now: now) }

        guard settings.mode != .off else { return }
        let decision = policy.decide(state, history: history, now: now)
        countSkips(decision, trigger: .auto)
        for action in decision.actions {
            await perform(action, trigger: .auto, reason: reason(for: action, in: report), now: now)
        }
        history.advance(needed: decision.needed, at: now, clear: settings.policy.episodeClear, window: settings.policy.window)
    }

    /// Counts a skip once per episode (when an action's skip reason changes), not every tick.
    private func countSkips(_ decision: RepairPolicy.Decision, trigger: RepairTrigger) {
        var current: [RepairAction: RepairSkipReason] = [:]
        for (action, reason) in decision.skipped {
            current[action] = reason
            if lastSkip[action] != reason {
                metrics.values.withLock { $0.skipped[reason, default: 0] += 1 }
                if reason != .cooldown {
                    logger.notice("repair skipped", metadata: ["action": "\(action)", "reason": "\(reason.rawValue)", "trigger": "\(trigger.rawValue)"])
                }
            }
        }
        if trigger == .auto { lastSkip = current }
    }

    /// `forced`: a manual request with `"force": true`; counted with trigger="forced".
    private func perform(_ action: RepairAction, trigger: RepairTrigger, reason: String, now: ContinuousClock.Instant,
                         dryRun: Bool? = nil, forced: Bool = false) async {
        history.record(action, at: now)
        let dry = dryRun ?? (settings.mode == .dryRun)
        var entry = AuditEntry(time: clock.date().timeIntervalSince1970, action: action.name, target: action.target,
                               trigger: forced ? "forced" : trigger.rawValue,
                               result: "dry_run", reason: reason, detail: "", durationSeconds: 0)
        if dry {
            entry.detail = "dry-run: not carried out"
            logger.notice("repair (dry-run)", metadata: ["action": "\(action)", "trigger": "\(trigger.rawValue)", "reason": "\(reason)"])
        } else {
            let started = ContinuousClock.now
            let result = await executor.run(action)
            entry.durationSeconds = (ContinuousClock.now - started).seconds
            switch result {
            case .success(let detail):
                entry.result = "ok"
                entry.detail = detail
                logger.notice("repair done", metadata: ["action": "\(action)", "trigger": "\(trigger.rawValue)", "reason": "\(reason)",
                                                        "detail": "\(detail)"])
            case .failure(let failure):
                entry.result = "failed"
                entry.detail = failure.description
                logger.warning("repair failed", metadata: ["action": "\(action)", "trigger": "\(trigger.rawValue)", "reason": "\(reason)",
                                                           "error": "\(failure.description)"])
            }
        }
        let label = forced ? "forced" : trigger.rawValue
        metrics.values.withLock { $0.repairs[RepairMetrics.Key(action: action.name, result: entry.result, trigger: label), default: 0] += 1 }
        audit.append(entry)
        if audit.count > settings.auditSize { audit.removeFirst(audit.count - settings.auditSize) }
    }

    private func reason(for action: RepairAction, in report: HealthReport) -> String {
        let kinds: [HealthProblem.Kind]
        switch action {
        case .reinstallHostKeys: kinds = [.hostKeyMissing, .hostKeyMismatch]
        case .rewriteConnectTo: kinds = [.connectToDrift]
        case .tincRetry, .tincReload: kinds = [.peerUnreachable]
        case .restartTincd: kinds = [.tincdDown]
        case .bgpRestart: kinds = [.bgpSessionDown]
        case .restartHungTincd: kinds = [.tincdHung]
        case .restartBIRD: kinds = [.birdDown]
        case .restartHungBIRD: kinds = [.birdHung]
        }
        let matching = report.problems.filter { kinds.contains($0.kind) && (action.target.isEmpty || $0.peer == action.target) }
        return matching.map(\.reason).joined(separator: "; ")
    }

    // MARK: webhook and manual requests

    public func submit(_ request: RepairRequest) async -> RepairSubmission {
        if request.trigger == .webhook && settings.mode == .off {
            metrics.values.withLock { $0.skipped[.off, default: 0] += 1 }
            return .skipped(reason: "repair.mode is off")
        }
        if request.trigger == .manual, request.kind != "auto", RepairAction.manual(request.kind, target: request.target) == nil {
            return .skipped(reason: "unknown action \(request.kind.debugDescription)")
        }
        if request.trigger == .manual {
            if settings.mode == .off && !request.force {
                metrics.values.withLock { $0.skipped[.off, default: 0] += 1 }
                return .refused(reason: "repair.mode is off; send \"force\": true to carry it out anyway (logged and counted)", status: 409)
            }
            // Manual requests count against the same budget as every other repair.
            let now = clock.now()
            let used = history.taken.filter { now - $0 < settings.policy.window }.count + pending.count
            if used >= settings.policy.maxActions {
                metrics.values.withLock { $0.skipped[.rateLimited, default: 0] += 1 }
                logger.notice("manual repair refused: rate limit", metadata: ["kind": "\(request.kind)", "used": "\(used)"])
                return .refused(reason: "rate limit: \(used) repairs in the last \(DurationSyntax.format(settings.policy.window)) "
                                    + "(repair.max-actions \(settings.policy.maxActions))", status: 429)
            }
            if request.force {
                logger.warning("forced manual repair", metadata: ["kind": "\(request.kind)", "target": "\(request.target ?? "")",
                                                                  "mode": "\(settings.mode.rawValue)"])
            }
        }
        let id = nextID
        nextID += 1
        pending.append((id, request))
        logger.info("repair request queued", metadata: ["id": "\(id)", "trigger": "\(request.trigger.rawValue)", "kind": "\(request.kind)",
                                                         "target": "\(request.target ?? "")"])
        return .queued(id: id)
    }

    public func cancel(alertKey: String) async {
        let before = pending.count
        pending.removeAll { $0.request.alertKey == alertKey }
        if pending.count != before { logger.info("resolved alert cancelled its pending repair", metadata: ["alert": "\(alertKey)"]) }
    }

    private func handle(_ request: RepairRequest, state: MeshState, now: ContinuousClock.Instant) async {
        // A manual request names its action and is carried out as asked (dry-run still only logs).
        let forced = request.trigger == .manual && request.force
        if request.trigger == .manual, let action = RepairAction.manual(request.kind, target: request.target) {
            // The budget may have gone to the repair loop since the request was accepted.
            guard history.taken.filter({ now - $0 < settings.policy.window }).count < settings.policy.maxActions else {
                metrics.values.withLock { $0.skipped[.rateLimited, default: 0] += 1 }
                logger.notice("manual repair skipped: rate limit", metadata: ["action": "\(action)"])
                return
            }
            await perform(action, trigger: .manual, reason: forced ? "requested by hand (forced)" : "requested by hand", now: now,
                          dryRun: forced ? false : nil, forced: forced)
            return
        }
        let decision = policy.decide(state, history: history, now: now, immediate: true)
        let relevant = Self.actions(for: request)
        let chosen = decision.actions.filter { action in relevant.map { $0(action) } ?? true }
        countSkips(RepairPolicy.Decision(skipped: decision.skipped.filter { s in relevant.map { $0(s.action) } ?? true }),
                   trigger: request.trigger)
        if chosen.isEmpty {
            if decision.skipped.isEmpty {
                metrics.values.withLock { $0.skipped[.nothingToDo, default: 0] += 1 }
                logger.info("repair request: nothing to do", metadata: ["kind": "\(request.kind)", "target": "\(request.target ?? "")"])
            }
            return
        }
        for action in chosen {
            await perform(action, trigger: request.trigger, reason: "\(request.trigger.rawValue) \(request.kind)", now: now,
                          dryRun: forced ? false : nil, forced: forced)
        }
    }

    /// The repairs of a hung daemon. The alerts a hung daemon fires at its node (a stopped tincd:
    /// MeshPeerUnreachable, BGPSessionDown, MeshPeerHighLoss, MeshHealthDegraded) allow them; the
    /// policy offers them only while the local health shows `tincd_hung` or `bird_hung`.
    static let hungDaemonRepairs: Set<RepairAction> = [.restartHungTincd, .restartHungBIRD]

    /// Which actions an alert is about (nil: whatever the policy finds).
    static func actions(for request: RepairRequest) -> ((RepairAction) -> Bool)? {
        let target = request.target
        switch request.kind {
        case "BGPSessionDown", "BGPNoRoutesImported":
            return {
                if case .bgpRestart(let s) = $0 { return target == nil || s == target }
                return hungDaemonRepairs.contains($0)
            }
        case "HostKeyMissing":
            return { $0 == .reinstallHostKeys }
        case "MeshPeerUnreachable", "TincMetaConnectionsLow", "MeshPeerHighLoss":
            return { [.tincRetry, .tincReload, .rewriteConnectTo, .reinstallHostKeys].contains($0) || hungDaemonRepairs.contains($0) }
        default:
            return nil
        }
    }

    /// The sources as they are now, with the trackers' memory.
    func buildState(now: ContinuousClock.Instant) async -> MeshState {
        let inputs = await sources.read()
        return builder.build(inputs, now: now)
    }

    public func statusJSON() async -> [UInt8] {
        RepairStatusDocument(state: lastState, report: lastReport, mode: settings.mode, audit: audit).json
    }
}
