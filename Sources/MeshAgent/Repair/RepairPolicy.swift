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

    /// The ladder the action is a rung of: the rungs of one problem share an episode
    /// (`RepairHistory`), so climbing to the next rung does not reset the backoff.
    public var ladder: String {
        switch self {
        case .tincRetry, .tincReload: "tinc_peer_unreachable"
        case .bgpRestart(let session): "bgp_restart \(session)"
        default: name
        }
    }

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

/// The repair loop's memory: one episode per ladder (for backoff and escalation) and the
/// actions taken in the rate-limit window. A value; the controller owns it.
///
/// An episode lasts from the first time its problem calls for an action until the problem has
/// been gone for `RepairPolicy.Settings.episodeClear`: a lasting fault climbs its ladder once and
/// then backs off, instead of starting at the bottom again whenever an old attempt ages out.
public struct RepairHistory: Sendable, Equatable {
    public struct Episode: Sendable, Equatable {
        public var started: ContinuousClock.Instant
        /// The last time a problem called for one of the ladder's actions.
        public var lastNeeded: ContinuousClock.Instant
        /// Attempts of every rung of the ladder in this episode.
        public var attempts = 0
        public var last: ContinuousClock.Instant?
        /// Attempts per rung, for the climb (two `tinc_retry`, then `tinc_reload`).
        public var rungs: [RepairAction: Int] = [:]
    }

    /// Keyed by `RepairAction.ladder`.
    public var episodes: [String: Episode] = [:]
    public var taken: [ContinuousClock.Instant] = []

    public init() {}

    public mutating func record(_ action: RepairAction, at now: ContinuousClock.Instant) {
        var episode = episodes[action.ladder] ?? Episode(started: now, lastNeeded: now)
        episode.attempts += 1
        episode.last = now
        episode.rungs[action, default: 0] += 1
        episodes[action.ladder] = episode
        taken.append(now)
    }

    /// Attempts of `action` itself in its ladder's current episode.
    public func attempts(of action: RepairAction) -> Int {
        episodes[action.ladder]?.rungs[action] ?? 0
    }

    /// After a round: the ladders still needed go on (or start), the others end once they have
    /// not been needed for `clear`; the rate-limit window forgets what is older than `window`.
    public mutating func advance(needed: Set<RepairAction>, at now: ContinuousClock.Instant, clear: Duration, window: Duration) {
        let ladders = Set(needed.map(\.ladder))
        for ladder in ladders { episodes[ladder, default: Episode(started: now, lastNeeded: now)].lastNeeded = now }
        episodes = episodes.filter { ladders.contains($0.key) || now - $0.value.lastNeeded < clear }
        taken = taken.filter { now - $0 < window }
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
/// Each problem has a ladder, cheapest first, climbed once per episode (`RepairHistory`): the
/// next attempt waits `backoff(attempts:)` after the last one of the episode, whatever its rung.
/// The climb waits `cooldown * 2^(n-1)` (capped at `cooldownMax`, the way BIRD's error wait
/// doubles); once the ladder is climbed the wait starts at `cooldownMax` and doubles up to
/// `episodeBackoffMax`. The rate limit applies on top.
public struct RepairPolicy: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long a BGP session may be down, with the overlay path up, before it is restarted.
        public var bgpGrace: Duration = .seconds(3)
        /// How long an alive peer may be unreachable in tinc before tincd is told to retry.
        public var peerGrace: Duration = .seconds(3)
        /// First backoff of an action; it doubles with every attempt that did not help.
        public var cooldown: Duration = .seconds(2)
        public var cooldownMax: Duration = .seconds(60)
        /// The longest wait between attempts once an episode has climbed its ladder.
        public var episodeBackoffMax: Duration = .seconds(900)
        /// An episode ends once its problem has been gone this long; the next sighting starts
        /// at the bottom of the ladder again.
        public var episodeClear: Duration = .seconds(120)
        /// Attempts of the climb (two `tinc_retry` and one `tinc_reload` for the longest ladder).
        public var climbAttempts = 3
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
                let retries = history.attempts(of: .tincRetry)
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
            if let episode = history.episodes[action.ladder], let last = episode.last,
               now < last + backoff(attempts: episode.attempts) {
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

    /// The wait after the episode's `attempts`-th try: `cooldown` doubled per try up to
    /// `cooldownMax` while the ladder climbs, then from `cooldownMax` doubled per try up to
    /// `episodeBackoffMax`.
    public func backoff(attempts: Int) -> Duration {
        guard attempts > 0 else { return .zero }
        let climb = max(settings.climbAttempts, 1)
        let (start, cap, doublings) = attempts < climb
            ? (settings.cooldown, settings.cooldownMax, attempts - 1)
            : (settings.cooldownMax, max(settings.episodeBackoffMax, settings.cooldownMax), attempts - climb)
        var wait = start
        for _ in 0..<min(doublings, 40) {
            wait = wait * 2
            if wait >= cap { return cap }
        }
        return min(wait, cap)
    }
}
