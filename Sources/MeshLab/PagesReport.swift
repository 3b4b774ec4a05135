import Foundation

/// The faults `bgpmesh-lab pages` injects, one at a time: the lab's catalogue (issue 18's list).
public enum PagesFault: String, CaseIterable, Codable, Sendable {
    case killTincd = "kill-tincd", pauseTincd = "pause-tincd"
    case killBird = "kill-bird", pauseBird = "pause-bird"
    case killAgent = "kill-agent", pauseAgent = "pause-agent"
    case killEtcd = "kill-etcd", pauseEtcd = "pause-etcd"
    case cutLink = "cut-link", isolate = "isolate"
    case deleteHostKey = "delete-host-key", dropConnectTo = "drop-connectto"
    case etcdMemberDown = "etcd-member-down"

    /// One line for `--help`.
    public var help: String {
        switch self {
        case .killTincd: return "SIGKILL tincd on NODE; its restart is held (fails) until the heal"
        case .pauseTincd: return "SIGSTOP tincd on NODE; the agent's restart of the hung tincd is held"
        case .killBird: return "SIGKILL BIRD on NODE; its restart is held"
        case .pauseBird: return "SIGSTOP BIRD on NODE; the agent's restart of the hung BIRD is held"
        case .killAgent: return "SIGKILL the agent on NODE"
        case .pauseAgent: return "SIGSTOP the agent on NODE"
        case .killEtcd: return "SIGKILL an etcd member that is not the leader"
        case .pauseEtcd: return "SIGSTOP an etcd member that is not the leader"
        case .cutLink: return "blackhole the underlay between NODE and node1 (node2 when NODE is node1)"
        case .isolate: return "NODE's underlay link down"
        case .deleteHostKey: return "remove hosts/NODE on node1 (node2 when NODE is node1) and HUP its tincd"
        case .dropConnectTo: return "remove NODE's ConnectTo lines and HUP its tincd"
        case .etcdMemberDown: return "stop the etcd leader (SIGTERM): one member down, a new leader"
        }
    }

    /// Alert names that name this fault's root cause (today's rules and issue 18's): a page counts
    /// as naming it when its alert is one of these and points at the faulty node.
    public var rootCauseAlerts: [String] {
        switch self {
        case .killTincd, .pauseTincd: return ["MeshDaemonDown", "TincdDown", "TincdHung"]
        case .killBird, .pauseBird: return ["MeshDaemonDown", "BirdDown", "BIRDDown", "BirdHung", "BIRDHung"]
        case .killAgent, .pauseAgent: return ["AgentDown", "BgpmeshAgentDown"]
        case .killEtcd, .pauseEtcd, .etcdMemberDown: return ["EtcdMemberDown", "EtcdMembersDown"]
        case .cutLink: return ["MeshPeerUnreachable", "MeshLinkDown"]
        case .isolate: return ["MeshNodeDown"]
        case .deleteHostKey: return ["HostKeyMissing"]
        case .dropConnectTo: return ["TincConnectToMissing", "ConnectToDrift", "TincMetaConnectionsLow", "MeshConnectToDrift"]
        }
    }

    /// The daemon whose restart the fault holds (the restart scripts fail while the hold file exists).
    var heldDaemon: DaemonKind? {
        switch self {
        case .killTincd, .pauseTincd: return .tincd
        case .killBird, .pauseBird: return .bird
        default: return nil
        }
    }

    /// Parses `--faults a,b,c` (`all` is the whole catalogue).
    public static func parseList(_ text: String) throws(LabError) -> [PagesFault] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names == ["all"] { return allCases }
        var out: [PagesFault] = []
        for n in names {
            guard let f = PagesFault(rawValue: n) else {
                throw .invalidArgument("unknown fault \(n.debugDescription); known: \(allCases.map(\.rawValue).joined(separator: ","))")
            }
            if !out.contains(f) { out.append(f) }
        }
        guard !out.isEmpty else { throw .invalidArgument("--faults names no fault") }
        return out
    }
}

/// What reached the humans and the agents for one fault, and what Prometheus saw meanwhile.
public struct PagesStep: Codable, Sendable {
    public struct Page: Codable, Sendable, Equatable {
        /// Seconds after the injection.
        public var after: Double
        public var receiver: String
        /// The firing alerts of the notification, as `Name{node=...,peer=...}`.
        public var alerts: [String]
    }
    public var fault: String
    public var label: String
    public var node: String?
    public var peer: String?
    public var inject = ""
    public var heal = ""
    /// Seconds since the run started.
    public var injected_at: Double = 0
    /// Seconds the fault was to be held (`PagesRunner.holdFor`), and was held.
    public var hold_planned: Double = 0
    public var held: Double = 0
    /// Why the hold ended: `hold` (all of it), `quiet` (nothing pending could still page within it)
    /// or `nothing active` (no alert at all: the agents repaired the fault).
    public var hold_ended = ""
    /// Seconds from the heal until the lab was converged again.
    public var converged_after_heal: Double?
    /// Firing notifications that reached a human receiver for this fault.
    public var human_notifications = 0
    /// The alert names in them, sorted.
    public var human_alerts: [String] = []
    public var pages: [Page] = []
    /// Notifications (firing or resolved) Alertmanager sent the agents' webhook for this fault.
    public var webhook_deliveries = 0
    public var webhook_by_node: [String: Int] = [:]
    /// The firing alert names the agents' webhook got.
    public var webhook_alerts: [String] = []
    /// Exactly one page, and it names the fault's root cause on the faulty node.
    public var root_cause_named = false
    /// Nodes where RepairStorm fired during the step (not already firing at the injection).
    public var repair_storm_nodes: [String] = []
    /// Of those, the nodes the fault did not touch.
    public var repair_storm_healthy_nodes: [String] = []
    /// Every alert that fired in Prometheus during the step (inhibited or not), `Name{node}`.
    public var fired: [String] = []
    /// Alerts pending at the heal: they would have fired had the fault lasted longer.
    public var pending_at_heal: [String] = []
    /// Alerts of this step still active when the run moved on.
    public var still_active: [String] = []
    /// The agents' repairs over the step (Prometheus, increase of bgpmesh_repairs_total), `node action result`.
    public var repairs: [String: Double] = [:]
    public var error: String?
}

/// `bgpmesh-lab pages --json`.
public struct PagesReport: Codable, Sendable {
    public var nodes: [String]
    public var faults: [String]
    public var hold: Double
    public var min_hold: Double
    public var started_at: Date
    public var ended_at: Date?
    /// The faults' root-cause alerts whose `for` (with group_wait) does not fit in --hold: they cannot page in this run.
    public var beyond_hold: [String] = []
    /// Alerts active before the first fault (not counted for any fault).
    public var baseline_alerts: [String] = []
    public var steps: [PagesStep] = []
    public var stopped_early: String?
    /// Faults left out because they did not fit in --duration.
    public var not_run: [String] = []
    public var cleanup: [String] = []

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// One row per fault: the pages, their alert names, the webhook deliveries, RepairStorm.
    public func table() -> String {
        var rows = [["FAULT", "HUMAN NOTIFICATIONS", "ALERT NAMES (HUMANS)", "WEBHOOK", "REPAIRSTORM", "ROOT CAUSE", "HELD"]]
        for s in steps {
            let storm = s.repair_storm_nodes.isEmpty ? "no"
                : "yes (" + s.repair_storm_nodes.joined(separator: ",") + (s.repair_storm_healthy_nodes.isEmpty ? "" : "; healthy: " + s.repair_storm_healthy_nodes.joined(separator: ",")) + ")"
            rows.append([s.label, s.error == nil ? String(s.human_notifications) : "error",
                         s.human_alerts.isEmpty ? "-" : s.human_alerts.joined(separator: ","),
                         String(s.webhook_deliveries), storm, s.root_cause_named ? "named" : "no",
                         String(format: "%.0f of %.0f s (%@)", s.held, s.hold_planned, s.hold_ended)])
        }
        var out = ChaosReport.render(rows)
        for s in steps where s.error != nil { out += "  \(s.label): error: \(s.error!)\n" }
        let one = steps.filter { $0.error == nil && $0.root_cause_named }.count
        out += "faults with exactly one page naming the root cause: \(one)/\(steps.count)\n"
        if !beyond_hold.isEmpty { out += "root-cause alerts that cannot page within --hold (for + group_wait): \(beyond_hold.joined(separator: ", "))\n" }
        if !not_run.isEmpty { out += "not run (no time left in --duration): \(not_run.joined(separator: ", "))\n" }
        if let why = stopped_early { out += "stopped early: \(why)\n" }
        return out
    }
}

extension PagesReport {
    /// Fills every step's counts from the sink's deliveries (each step ends at the next one's injection).
    public mutating func recount(_ deliveries: [SinkDelivery]) {
        let injected = steps.map { started_at.addingTimeInterval($0.injected_at) }
        for i in steps.indices where steps[i].error == nil || !steps[i].inject.isEmpty {
            guard let fault = PagesFault(rawValue: steps[i].fault) else { continue }
            PagesAttribution.fill(&steps[i], deliveries: deliveries, from: injected[i], until: i + 1 < steps.count ? injected[i + 1] : nil,
                                  faultyNodes: Set([steps[i].node, steps[i].peer].compactMap { $0 }), rootCause: fault.rootCauseAlerts)
        }
    }
}

/// Which of the sink's deliveries belong to a fault: those with an alert (other than `ignored`) that
/// started at or after the injection (less `slack`) and before the next fault's. Attribution by the
/// alerts' own start, not by arrival, so a late notification of one fault never counts for the next.
public enum PagesAttribution {
    public static let ignoredAlerts: Set<String> = ["Watchdog"]

    public static func belongs(_ d: SinkDelivery, from: Date, until: Date?, slack: Double = 2,
                               ignored: Set<String> = ignoredAlerts) -> Bool {
        guard let s = owner(d, ignored: ignored) else { return false }
        return s >= from.addingTimeInterval(-slack) && (until.map { s < $0.addingTimeInterval(-slack) } ?? true)
    }

    /// The start that decides a delivery's fault: its newest firing alert's (what made Alertmanager
    /// notify; older alerts of the group ride along), or for a resolved notification its newest alert's.
    /// So every delivery counts for one fault at most.
    static func owner(_ d: SinkDelivery, ignored: Set<String>) -> Date? {
        let kept = d.alerts.filter { !ignored.contains($0.name) }
        let firing = kept.filter { $0.status == "firing" }
        return (firing.isEmpty ? kept : firing).compactMap(\.startsAt).max()
    }

    /// Fills the step's human and webhook counts from the deliveries.
    public static func fill(_ step: inout PagesStep, deliveries: [SinkDelivery], from: Date, until: Date?,
                            faultyNodes: Set<String>, rootCause: [String], ignored: Set<String> = ignoredAlerts) {
        var humanNames = Set<String>(), hookNames = Set<String>()
        var pages: [PagesStep.Page] = []
        var hooks = 0
        var byNode: [String: Int] = [:]
        var namesCause = true
        for d in deliveries where belongs(d, from: from, until: until, ignored: ignored) {
            let firing = d.alerts.filter { $0.status == "firing" && !ignored.contains($0.name) }
            switch d.target {
            case .receiver(let r):
                guard d.status == "firing", !firing.isEmpty else { continue }
                pages.append(.init(after: d.receivedAt.timeIntervalSince(from), receiver: r, alerts: firing.map(describe)))
                humanNames.formUnion(firing.map(\.name))
                if !firing.contains(where: { rootCause.contains($0.name) && pointsAt($0, faultyNodes) }) { namesCause = false }
            case .agent(let n):
                hooks += 1
                byNode[n, default: 0] += 1
                hookNames.formUnion(firing.map(\.name))
            }
        }
        step.pages = pages
        step.human_notifications = pages.count
        step.human_alerts = humanNames.sorted()
        step.webhook_deliveries = hooks
        step.webhook_by_node = byNode
        step.webhook_alerts = hookNames.sorted()
        step.root_cause_named = pages.count == 1 && namesCause
    }

    static func pointsAt(_ a: SinkDelivery.Alert, _ nodes: Set<String>) -> Bool {
        nodes.isEmpty || ["node", "peer", "instance_node", "member", "target_node"].contains { a.labels[$0].map(nodes.contains) ?? false }
    }

    /// `Name{node=node2,peer=node4}`: the labels an operator reads first.
    public static func describe(_ a: SinkDelivery.Alert) -> String {
        let keys = ["node", "peer", "daemon", "member"].filter { a.labels[$0] != nil }
        return a.name + (keys.isEmpty ? "" : "{" + keys.map { "\($0)=\(a.labels[$0]!)" }.joined(separator: ",") + "}")
    }
}
