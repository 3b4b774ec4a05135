/// One thing the repair loop can do.
public enum RepairAction: Sendable, Hashable, CustomStringConvertible {
    /// Write every missing or mismatched host file from the registry, then HUP and ALRM tincd.
    case reinstallHostKeys
    /// Write conf.d/bgpmesh.conf from the plan again, then HUP and ALRM tincd.
    case rewriteConnectTo
    /// ALRM (1.1: retry): tincd retries its outgoing connections now.
    case tincRetry
    /// HUP then ALRM (1.1: reload, retry).
    case tincReload
    /// The configured command, e.g. `systemctl restart tinc@bgpmesh`.
    case restartTincd
    /// `restart <protocol>` over BIRD's unrestricted session.
    case bgpRestart(String)
    /// tincd does not answer its signals: SIGKILL the pid checked to be this net's tincd, then
    /// `repair.tincd-restart-command`.
    case restartHungTincd
    /// BIRD's process is gone: `repair.bird-restart-command`.
    case restartBIRD
    /// BIRD accepts but does not answer: SIGKILL the BIRD of our socket, then
    /// `repair.bird-restart-command` (a stopped BIRD ignores SIGTERM until continued; SIGKILL
    /// ends it either way).
    case restartHungBIRD

    /// The `action` label.
    public var name: String {
        switch self {
        case .reinstallHostKeys: "reinstall_host_keys"
        case .rewriteConnectTo: "rewrite_connectto"
        case .tincRetry: "tinc_retry"
        case .tincReload: "tinc_reload"
        case .restartTincd: "restart_tincd"
        case .bgpRestart: "bgp_restart"
        case .restartHungTincd: "restart_hung_tincd"
        case .restartBIRD: "restart_bird"
        case .restartHungBIRD: "restart_hung_bird"
        }
    }

    public var target: String {
        if case .bgpRestart(let session) = self { return session }
        return ""
    }

    /// Actions that rewrite the mesh configuration (refused by the quorum guard).
    public var rewritesMeshConfiguration: Bool {
        switch self {
        case .reinstallHostKeys, .rewriteConnectTo: true
        default: false
        }
    }

    public var description: String { target.isEmpty ? name : "\(name) \(target)" }

    /// The manual action names of POST /api/v1/repair.
    public static func manual(_ name: String, target: String?) -> RepairAction? {
        switch name {
        case "reinstall-host-keys": .reinstallHostKeys
        case "connectto": .rewriteConnectTo
        case "tinc-retry": .tincRetry
        case "tinc-reload": .tincReload
        case "restart-tincd": .restartTincd
        case "restart-bird": .restartBIRD
        case "bgp-restart": target.flatMap { $0.isEmpty ? nil : .bgpRestart($0) }
        default: nil
        }
    }
}

/// The repair loop's memory: attempts per action (for backoff and escalation) and the
/// actions taken in the rate-limit window. A value; the controller owns it.
public struct RepairHistory: Sendable, Equatable {
    public struct Attempts: Sendable, Equatable {
        /// Attempts since the problem behind the action last cleared.
        public var count: Int
        public var last: ContinuousClock.Instant
    }

    public var attempts: [RepairAction: Attempts] = [:]
    public var taken: [ContinuousClock.Instant] = []

    public init() {}

    public mutating func record(_ action: RepairAction, at now: ContinuousClock.Instant) {
        let previous = attempts[action]?.count ?? 0
        attempts[action] = Attempts(count: previous + 1, last: now)
        taken.append(now)
    }

    /// Forgets the attempts of actions no longer needed, so the next episode starts cheap.
    public mutating func keepOnly(_ needed: Set<RepairAction>) {
        attempts = attempts.filter { needed.contains($0.key) }
    }
}

/// Why an action was not taken; the `reason` label of `bgpmesh_repair_skipped_total`.
public enum RepairSkipReason: String, Sendable, Hashable, CaseIterable {
    /// The action's backoff has not run out.
    case cooldown
    /// The maximum number of actions per window was reached.
    case rateLimited = "rate_limited"
    /// etcd and most peers are unreachable: the fault is probably local, so the mesh
    /// configuration is left alone.
    case quorum
    /// No restart command is configured.
    case noRestartCommand = "no_restart_command"
    /// `repair.mode=dry-run`.
    case dryRun = "dry_run"
    /// `repair.mode=off` (webhook requests only).
    case off
    /// A webhook alert named nothing the policy acts on.
    case nothingToDo = "nothing_to_do"
}

/// Pure repair policy: `(MeshState, RepairHistory, now) -> actions`, table-tested with an
/// injected clock.
///
/// Each problem has a ladder, cheapest first; a rung is tried again only after its backoff
/// (`cooldown * 2^(attempts-1)`, capped, the way BIRD's error wait doubles), and the next rung
/// only when the previous one did not help within its window.
public struct RepairPolicy: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long a BGP session may be down, with the overlay path up, before it is restarted.
        public var bgpGrace: Duration = .seconds(3)
        /// How long an alive peer may be unreachable in tinc before tincd is told to retry.
        public var peerGrace: Duration = .seconds(3)
        /// First backoff of an action; it doubles with every attempt that did not help.
        public var cooldown: Duration = .seconds(2)
        public var cooldownMax: Duration = .seconds(60)
        /// At most this many actions per `window`.
        public var maxActions = 10
        public var window: Duration = .seconds(60)
        /// A command to restart tincd is configured.
        public var canRestartTincd = false
        /// A command to restart BIRD is configured (`repair.bird-restart-command`).
        public var canRestartBIRD = false

        public init() {}
    }

    public struct Decision: Sendable, Equatable {
        public var actions: [RepairAction] = []
        public var skipped: [(action: RepairAction, reason: RepairSkipReason)] = []
        /// Every action some problem calls for, taken or not (the history keeps their attempts).
        public var needed: Set<RepairAction> = []

        public static func == (a: Decision, b: Decision) -> Bool {
            a.actions == b.actions && a.needed == b.needed
                && a.skipped.map { "\($0.action)/\($0.reason)" } == b.skipped.map { "\($0.action)/\($0.reason)" }
        }
    }

    public var settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// The actions the state calls for now. `immediate` skips the grace periods (an alert
    /// already waited its `for`); backoff, rate limit and quorum still apply.
    public func decide(_ state: MeshState, history: RepairHistory, now: ContinuousClock.Instant,
                       immediate: Bool = false) -> Decision {
        var candidates: [RepairAction] = []
        func want(_ action: RepairAction) { if !candidates.contains(action) { candidates.append(action) } }

        if state.tincdRotating {
            // A key rotation restarts tincd itself, checks it came up and rolls back if not: a
            // second restart (or a kill of the tincd it just started) would only get in its way.
        } else if state.tincdHung {
            // Nothing else reaches a tincd that does not answer signals.
            want(.restartHungTincd)
        } else if state.tincdRunning == false {
            want(.restartTincd)
        } else {
            // A conflict is the operator's file: nothing to reinstall.
            if state.peers.contains(where: { $0.hostFile == .missing || $0.hostFile == .mismatch }) { want(.reinstallHostKeys) }
            if state.connectToDrift { want(.rewriteConnectTo) }
            let unreachable = state.peers.contains { peer in
                peer.alive && (peer.hostFile == .ok || peer.hostFile == .conflict) && peer.tincReachable == false
                    && (immediate || (peer.unreachableFor ?? 0) >= settings.peerGrace.seconds)
            }
            if unreachable {
                // ALRM first; HUP + ALRM once two retries did not help.
                let retries = history.attempts[.tincRetry]?.count ?? 0
                want(retries >= 2 ? .tincReload : .tincRetry)
            }
        }
        if state.birdHung {
            want(.restartHungBIRD)
        } else if state.birdRunning == false {
            want(.restartBIRD)
        }
        if state.birdUp != false, !state.birdHung, state.tincdRunning != false, !state.tincdHung {
            let peers = Dictionary(state.peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for session in state.sessions where !session.established && !session.administrativelyDown {
                guard immediate || (session.downFor ?? 0) >= settings.bgpGrace.seconds else { continue }
                // A client's session to another client is not the topology's: never restarted.
                // (An expected peer without a protocol has no session here: nothing to restart.)
                guard !state.isUnplannedClientSession(session) else { continue }
                // Only when the overlay path to the neighbor works: otherwise BGP is not the problem.
                let peer = session.peer.flatMap { peers[$0] }
                guard peer?.probeUp == true || (peer?.probeUp == nil && peer?.tincReachable == true) else { continue }
                want(.bgpRestart(session.name))
            }
        }

        var decision = Decision(needed: Set(candidates))
        let quorumLost = state.registrySynced == false
            && state.peers.filter { $0.alive }.count > 0
            && Double(state.peers.filter { $0.tincReachable == false }.count) > Double(state.peers.count) / 2
        var budget = settings.maxActions - history.taken.filter { now - $0 < settings.window }.count
        for action in candidates {
            if action.rewritesMeshConfiguration && quorumLost {
                decision.skipped.append((action, .quorum))
                continue
            }
            if (action == .restartTincd || action == .restartHungTincd) && !settings.canRestartTincd
                || (action == .restartBIRD || action == .restartHungBIRD) && !settings.canRestartBIRD {
                decision.skipped.append((action, .noRestartCommand))
                continue
            }
            if let attempts = history.attempts[action], now < attempts.last + backoff(attempts: attempts.count) {
                decision.skipped.append((action, .cooldown))
                continue
            }
            guard budget > 0 else {
                decision.skipped.append((action, .rateLimited))
                continue
            }
            budget -= 1
            decision.actions.append(action)
        }
        return decision
    }

    /// The wait after `attempts` tries: cooldown, doubled per further try, capped.
    public func backoff(attempts: Int) -> Duration {
        guard attempts > 0 else { return .zero }
        var wait = settings.cooldown
        for _ in 1..<min(attempts, 20) {
            wait = wait * 2
            if wait >= settings.cooldownMax { return settings.cooldownMax }
        }
        return min(wait, settings.cooldownMax)
    }
}
