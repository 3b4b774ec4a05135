import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// `repair.mode`.
public enum RepairMode: String, Sendable, CaseIterable {
    case off
    case dryRun = "dry-run"
    case on
}

/// Where the health model's inputs come from: the snapshots the collectors and samplers
/// already keep. Each part is optional (its collector may be off).
public struct MeshStateSources: Sendable {
    public var registry: RegistrySync?
    public var tinc: TincDumpState?
    public var tincMaxAge: Duration
    public var probes: ProbeHistory?
    public var bgp: BGPSessionHistory?
    public var bird: (@Sendable () -> BIRDSnapshot?)?

    public init(registry: RegistrySync? = nil, tinc: TincDumpState? = nil, tincMaxAge: Duration = .seconds(20),
                probes: ProbeHistory? = nil, bgp: BGPSessionHistory? = nil, bird: (@Sendable () -> BIRDSnapshot?)? = nil) {
        self.registry = registry
        self.tinc = tinc
        self.tincMaxAge = tincMaxAge
        self.probes = probes
        self.bgp = bgp
        self.bird = bird
    }
}

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

    private var history = RepairHistory()
    private var unreachableSince: [String: ContinuousClock.Instant] = [:]
    private var downSince: [String: ContinuousClock.Instant] = [:]
    private var birdPolls: (polls: UInt64, errors: UInt64)?
    private var birdUp: Bool?
    private var lastSkip: [RepairAction: RepairSkipReason] = [:]
    private var pending: [(id: UInt64, request: RepairRequest)] = []
    private var nextID: UInt64 = 1
    private var audit: [AuditEntry] = []
    private var lastState = MeshState()
    private var lastReport = HealthReport(score: 1, problems: [])

    public init(settings: Settings, sources: MeshStateSources, executor: RepairExecutor, logger: Logger) {
        self.settings = settings
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
        while !Task.isCancelled {
            let started = ContinuousClock.now
            await tick()
            try? await Task.sleep(until: started + settings.interval, clock: .continuous)
        }
    }

    /// One round: state, score, requests, then the policy's own findings.
    public func tick() async {
        let now = ContinuousClock.now
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
        history.keepOnly(decision.needed.union(history.attempts.keys.filter { now - (history.attempts[$0]?.last ?? now) < settings.policy.cooldownMax }))
        countSkips(decision, trigger: .auto)
        for action in decision.actions {
            await perform(action, trigger: .auto, reason: reason(for: action, in: report), now: now)
        }
        history.taken = history.taken.filter { now - $0 < settings.policy.window }
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

    private func perform(_ action: RepairAction, trigger: RepairTrigger, reason: String, now: ContinuousClock.Instant,
                         dryRun: Bool? = nil) async {
        history.record(action, at: now)
        let dry = dryRun ?? (settings.mode == .dryRun)
        var entry = AuditEntry(time: Date().timeIntervalSince1970, action: action.name, target: action.target, trigger: trigger.rawValue,
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
        metrics.values.withLock { $0.repairs[RepairMetrics.Key(action: action.name, result: entry.result, trigger: trigger.rawValue), default: 0] += 1 }
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
        if request.trigger == .manual, let action = RepairAction.manual(request.kind, target: request.target) {
            await perform(action, trigger: .manual, reason: "requested by hand", now: now)
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
            await perform(action, trigger: request.trigger, reason: "\(request.trigger.rawValue) \(request.kind)", now: now)
        }
    }

    /// Which actions an alert is about (nil: whatever the policy finds).
    static func actions(for request: RepairRequest) -> ((RepairAction) -> Bool)? {
        let target = request.target
        switch request.kind {
        case "BGPSessionDown", "BGPNoRoutesImported":
            return { if case .bgpRestart(let s) = $0 { return target == nil || s == target } else { return false } }
        case "HostKeyMissing":
            return { $0 == .reinstallHostKeys }
        case "MeshPeerUnreachable", "TincMetaConnectionsLow", "MeshPeerHighLoss":
            return { [.tincRetry, .tincReload, .rewriteConnectTo, .reinstallHostKeys].contains($0) }
        default:
            return nil
        }
    }

    // MARK: state

    func buildState(now: ContinuousClock.Instant) async -> MeshState {
        var state = MeshState()
        let registry = await sources.registry?.health()
        state.node = registry?.node
        state.registrySynced = registry?.synced
        state.connectToDrift = registry?.connectToDrift ?? false
        let reachable = sources.tinc?.reachableNodes(maxAge: sources.tincMaxAge)
        let connections = sources.tinc?.metaConnections(maxAge: sources.tincMaxAge)
        state.tincdRunning = sources.tinc?.daemonRunning
        let probes = sources.probes?.snapshot ?? [:]
        var overlay: [String: String] = [:]
        for peer in registry?.peers ?? [] {
            let isReachable = reachable.map { $0.contains(peer.name) }
            if isReachable == false {
                if unreachableSince[peer.name] == nil { unreachableSince[peer.name] = now }
            } else {
                unreachableSince[peer.name] = nil
            }
            let probe = probes[peer.name]
            state.peers.append(MeshState.Peer(
                name: peer.name, alive: peer.alive, tincReachable: isReachable,
                unreachableFor: unreachableSince[peer.name].map { (now - $0).seconds },
                metaConnection: connections.map { $0.contains(peer.name) },
                probeUp: probe?.up, probeLoss: probe?.lossRatio, probeRTT: probe?.lastRTT, hostFile: peer.hostFile))
            for address in peer.overlay { overlay[address] = peer.name }
        }
        unreachableSince = unreachableSince.filter { name, _ in state.peers.contains { $0.name == name } }

        if let bgp = sources.bgp?.snapshot() {
            // BIRD is up while the sampler's polls succeed.
            if let last = birdPolls {
                if bgp.polls > last.polls { birdUp = true } else if bgp.pollErrors > last.errors { birdUp = false }
            } else if bgp.polls > 0 {
                birdUp = true
            }
            birdPolls = (bgp.polls, bgp.pollErrors)
            state.birdUp = birdUp
            let neighbors = Dictionary(
                (sources.bird?()?.protocols?.protocols ?? []).compactMap { p in p.bgp?.neighborAddress.map { (p.name, $0) } },
                uniquingKeysWith: { a, _ in a })
            let names = Set(state.peers.map(\.name))
            for (name, session) in bgp.sessions.sorted(by: { $0.key < $1.key }) {
                let established = session.state == .established
                if established { downSince[name] = nil } else if downSince[name] == nil { downSince[name] = now }
                let peer = neighbors[name].flatMap { overlay[$0] } ?? (names.contains(name) ? name : nil)
                state.sessions.append(MeshState.Session(
                    name: name, peer: peer, state: session.state.text, established: established,
                    downFor: downSince[name].map { (now - $0).seconds }, administrativelyDown: session.state == .down))
            }
            downSince = downSince.filter { bgp.sessions[$0.key] != nil }
        }
        return state
    }

    // MARK: status

    struct StatusDocument: Encodable {
        struct Health: Encodable {
            var score: Double
            var reasons: [String]
            var problems: [Problem]
        }
        struct Problem: Encodable {
            var kind: String
            var peer: String
            var reason: String
        }
        struct Peer: Encodable {
            var name: String
            var alive: Bool
            var tinc_reachable: Bool?
            var meta_connection: Bool?
            var probe_up: Bool?
            var probe_loss_ratio: Double?
            var probe_rtt_seconds: Double?
            var host_file: String
        }
        struct Session: Encodable {
            var name: String
            var peer: String?
            var state: String
            var established: Bool
            var down_seconds: Double?
        }
        var node: String?
        var version: String
        var repair_mode: String
        var health: Health
        var tincd_running: Bool?
        var bird_up: Bool?
        var registry_synced: Bool?
        var peers: [Peer]
        var sessions: [Session]
        var recent_actions: [AuditEntry]
    }

    public func statusJSON() async -> [UInt8] {
        let s = lastState, r = lastReport
        let doc = StatusDocument(
            node: s.node, version: BuildInfo.version, repair_mode: settings.mode.rawValue,
            health: .init(score: r.score, reasons: r.problems.map(\.reason),
                          problems: r.problems.map { .init(kind: $0.kind.rawValue, peer: $0.peer, reason: $0.reason) }),
            tincd_running: s.tincdRunning, bird_up: s.birdUp, registry_synced: s.registrySynced,
            peers: s.peers.map { .init(name: $0.name, alive: $0.alive, tinc_reachable: $0.tincReachable, meta_connection: $0.metaConnection,
                                       probe_up: $0.probeUp, probe_loss_ratio: $0.probeLoss, probe_rtt_seconds: $0.probeRTT,
                                       host_file: $0.hostFile.rawValue) },
            sessions: s.sessions.map { .init(name: $0.name, peer: $0.peer, state: $0.state, established: $0.established, down_seconds: $0.downFor) },
            recent_actions: audit.reversed())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(doc))) ?? Array("{}".utf8)
    }
}

/// The repair loop's metrics.
public final class RepairMetrics: Sendable {
    struct Key: Hashable {
        var action: String
        var result: String
        var trigger: String
    }

    struct Values {
        var mode: RepairMode = .off
        var score = 1.0
        var problems: [HealthProblem] = []
        var repairs: [Key: UInt64] = [:]
        var skipped: [RepairSkipReason: UInt64] = [:]
    }

    let values = Mutex(Values())

    public init() {}

    var families: [MetricFamily] {
        let v = values.withLock { $0 }
        return [
            .gauge("bgpmesh_health_score", help: "Mesh health seen from this node, 0 to 1 (see /api/v1/status for the reasons).",
                   [Metric([], v.score)]),
            .gauge("bgpmesh_health_problems", help: "Current problems by kind and peer (1 while present).",
                   v.problems.map { Metric([Label("kind", $0.kind.rawValue), Label("peer", $0.peer)], 1) }),
            .counter("bgpmesh_repairs_total", help: "Repair actions by action, result (ok, failed, dry_run) and trigger (auto, webhook, manual).",
                     v.repairs.keys.sorted { ($0.action, $0.result, $0.trigger) < ($1.action, $1.result, $1.trigger) }.map {
                         Metric([Label("action", $0.action), Label("result", $0.result), Label("trigger", $0.trigger)], Double(v.repairs[$0]!))
                     }),
            .counter("bgpmesh_repair_skipped_total", help: "Repairs not taken, by reason (counted once per episode).",
                     RepairSkipReason.allCases.map { Metric([Label("reason", $0.rawValue)], Double(v.skipped[$0] ?? 0)) }),
            .info("bgpmesh_repair_mode", help: "The repair mode (off, dry-run, on).", [[Label("mode", v.mode.rawValue)]]),
        ]
    }
}

/// The `repair` collector: health score, problems and repair counters (no I/O in a scrape).
public struct RepairCollector: Collector {
    public let name = "repair"
    let metrics: RepairMetrics

    public init(metrics: RepairMetrics) {
        self.metrics = metrics
    }

    public func collect() async throws -> [MetricFamily] { metrics.families }
}
