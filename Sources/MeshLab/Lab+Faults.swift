import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The faults the lab injects, and the commands that undo them.
public enum FaultKind: String, CaseIterable, Sendable {
    case killTincd = "kill-tincd", restartTincd = "restart-tincd"
    case killBird = "kill-bird", restartBird = "restart-bird"
    case killAgent = "kill-agent", restartAgent = "restart-agent"
    case killEtcd = "kill-etcd", restartEtcd = "restart-etcd"
    case cutLink = "cut-link", healLink = "heal-link"
    case deleteHostKey = "delete-host-key", restoreHostKey = "restore-host-key"
    case dropConnectTo = "drop-connectto", restoreConnectTo = "restore-connectto"
    case corruptTincConf = "corrupt-tinc-conf", restoreTincConf = "restore-tinc-conf"
    case pauseTincd = "pause-tincd", resumeTincd = "resume-tincd"
    case pauseBird = "pause-bird", resumeBird = "resume-bird"
    case pauseAgent = "pause-agent", resumeAgent = "resume-agent"
    case pauseEtcd = "pause-etcd", resumeEtcd = "resume-etcd"
    case netem = "netem", clearNetem = "clear-netem"
    case loss = "loss", clearLoss = "clear-loss"
    case isolate = "isolate", heal = "heal"
    case fillDisk = "fill-disk", freeDisk = "free-disk"
    case etcdNospace = "etcd-nospace", clearEtcdNospace = "clear-etcd-nospace"
    case corruptHostFile = "corrupt-host-file", restoreHostFile = "restore-host-file"
    case healAll = "heal-all"

    /// One line for `--help`.
    public var help: String {
        switch self {
        case .killTincd: return "kill-tincd NODE           SIGKILL tincd (tinc0 disappears, BGP over it drops)"
        case .restartTincd: return "restart-tincd NODE        start tincd again"
        case .killBird: return "kill-bird NODE            SIGKILL BIRD (its peers' sessions go Active)"
        case .restartBird: return "restart-bird NODE         start BIRD again"
        case .killAgent: return "kill-agent NODE           SIGKILL the agent"
        case .restartAgent: return "restart-agent NODE        start the agent again"
        case .killEtcd: return "kill-etcd NODE            SIGKILL the etcd member (node1-node3 only)"
        case .restartEtcd: return "restart-etcd NODE         start the etcd member again"
        case .cutLink: return "cut-link NODE [PEER]      bridge port down; with PEER, blackhole NODE<->PEER"
        case .healLink: return "heal-link [NODE [PEER]]   undo cut-link (all cuts without arguments)"
        case .deleteHostKey: return "delete-host-key NODE PEER remove hosts/PEER on NODE and HUP tincd"
        case .restoreHostKey: return "restore-host-key NODE PEER put hosts/PEER back, HUP and ALRM"
        case .dropConnectTo: return "drop-connectto NODE       remove NODE's ConnectTo lines and HUP tincd"
        case .restoreConnectTo: return "restore-connectto NODE    put the ConnectTo lines back, HUP and ALRM"
        case .corruptTincConf: return "corrupt-tinc-conf NODE    garble tinc.conf and HUP (tincd 1.0 exits)"
        case .restoreTincConf: return "restore-tinc-conf NODE    put tinc.conf back and start tincd if needed"
        case .pauseTincd: return "pause-tincd NODE          SIGSTOP tincd (hung: no dumps, no traffic)"
        case .resumeTincd: return "resume-tincd NODE         SIGCONT the paused tincd"
        case .pauseBird: return "pause-bird NODE           SIGSTOP BIRD (socket accepts, nothing answers)"
        case .resumeBird: return "resume-bird NODE          SIGCONT the paused BIRD"
        case .pauseAgent: return "pause-agent NODE          SIGSTOP the agent"
        case .resumeAgent: return "resume-agent NODE         SIGCONT the paused agent"
        case .pauseEtcd: return "pause-etcd NODE           SIGSTOP the etcd member (node1-node3 only)"
        case .resumeEtcd: return "resume-etcd NODE          SIGCONT the paused etcd member"
        case .netem: return "netem NODE [PEER]         tc netem --loss P --delay MS; PEER: NODE->PEER only\n                            (--both: and PEER->NODE)"
        case .clearNetem: return "clear-netem [NODE]        remove NODE's netem (every node without NODE)"
        case .loss: return "loss NODE [PEER]          XDP drops --loss P % to and from NODE; with PEER\n                            NODE->PEER only (--both: and PEER->NODE); no delay"
        case .clearLoss: return "clear-loss [NODE]         remove loss to and from NODE (all without NODE)"
        case .isolate: return "isolate NODE              NODE's underlay links down (etcd in minority)"
        case .heal: return "heal NODE                 undo isolate/cut-link of NODE, ALRM every tincd"
        case .fillDisk: return "fill-disk NODE            NODE's tinc directory on a full small tmpfs"
        case .freeDisk: return "free-disk NODE            copy changes back, unmount the tmpfs"
        case .etcdNospace: return "etcd-nospace              raise etcd's NOSPACE alarm (puts fail)"
        case .clearEtcdNospace: return "clear-etcd-nospace        compact, defragment and disarm the alarm"
        case .corruptHostFile: return "corrupt-host-file NODE PEER random bytes over hosts/PEER on NODE"
        case .restoreHostFile: return "restore-host-file NODE PEER put hosts/PEER back, HUP and ALRM"
        case .healAll: return "heal-all                  undo every fault above; start what is not running"
        }
    }
}

extension Lab {
    /// Injects or undoes one fault and returns a one-line account of what it did.
    public func fault(_ kind: FaultKind, node nodeName: String?, peer peerName: String?,
                      state: LabState, options: FaultOptions = FaultOptions()) throws(LabError) -> String {
        let node: NodeSpec? = try nodeName.map { (s) throws(LabError) in try resolve(s, in: state) }
        let peer: NodeSpec? = try peerName.map { (s) throws(LabError) in try resolve(s, in: state) }
        func need() throws(LabError) -> NodeSpec {
            guard let node else { throw .invalidArgument("\(kind.rawValue) needs a NODE") }
            return node
        }
        func needPeer() throws(LabError) -> NodeSpec {
            guard let peer else { throw .invalidArgument("\(kind.rawValue) needs NODE and PEER") }
            return peer
        }
        switch kind {
        case .pauseTincd, .resumeTincd, .pauseBird, .resumeBird, .pauseAgent, .resumeAgent, .pauseEtcd, .resumeEtcd:
            return try pauseFault(kind, try need(), state: state)
        case .netem:
            return try applyNetem(try need(), peer: peer, options: options)
        case .clearNetem:
            return try clearNetem(node.map { [$0] } ?? state.specs(stateDir: stateDir))
        case .loss:
            return try applyLoss(try need(), peer: peer, options: options, state: state)
        case .clearLoss:
            return try clearLoss(node.map { [$0] } ?? state.specs(stateDir: stateDir), state: state)
        case .isolate:
            let n = try need()
            try Netns.ip("-n", LabNames.bridgeNamespace, "link", "set", n.bridgePort, "down")
            return "isolated \(n.name): its only underlay link (bridge port \(n.bridgePort)) is down"
                + (n.isEtcdMember ? "; its etcd member is in the minority" : "")
        case .heal:
            return try fault(.healLink, node: try need().name, peer: nil, state: state)
        case .fillDisk:
            return try fillDisk(try need())
        case .freeDisk:
            return try freeDisk(try need())
        case .etcdNospace:
            return try etcdNospace(state: state)
        case .clearEtcdNospace:
            return try clearEtcdNospace(state: state)
        case .corruptHostFile:
            return try corruptHostFile(try need(), try needPeer())
        case .restoreHostFile:
            return try restoreHostFile(try need(), try needPeer())
        case .healAll:
            return healAll(state: state).joined(separator: "\n")
        case .killTincd, .killBird, .killAgent, .killEtcd:
            let n = try need()
            let d = daemon(of: kind)
            if d == .etcd && !n.isEtcdMember { throw .invalidArgument("\(n.name) is an etcd client, not a member (members: node1-node3)") }
            if d == .agent && state.agentBinary == nil { throw .invalidArgument("the lab runs without agents") }
            guard let p = pid(d, n) else { return "\(d.rawValue) on \(n.name) was not running" }
            stopDaemon(d, n, hard: true)
            return "killed \(d.rawValue) on \(n.name) (pid \(p), SIGKILL)"
        case .restartTincd, .restartBird, .restartAgent, .restartEtcd:
            let n = try need()
            let d = daemon(of: kind)
            if d == .etcd && !n.isEtcdMember { throw .invalidArgument("\(n.name) is an etcd client, not a member (members: node1-node3)") }
            if d == .agent && state.agentBinary == nil { throw .invalidArgument("the lab runs without agents") }
            stopDaemon(d, n, hard: false)
            try startDaemon(d, n, state: state)
            return "started \(d.rawValue) on \(n.name) (pid \(pid(d, n) ?? 0))"
        case .cutLink:
            let n = try need()
            if let p = peer {
                try Netns.ip("-n", n.namespace, "route", "replace", "blackhole", "\(p.underlay)/32")
                try Netns.ip("-n", p.namespace, "route", "replace", "blackhole", "\(n.underlay)/32")
                return "cut the underlay between \(n.name) and \(p.name) (blackhole routes on both)"
            }
            try Netns.ip("-n", LabNames.bridgeNamespace, "link", "set", n.bridgePort, "down")
            return "cut \(n.name) off the underlay (bridge port \(n.bridgePort) down)"
        case .healLink:
            let targets = node.map { [$0] } ?? state.specs(stateDir: stateDir)
            for n in targets {
                try Netns.ip("-n", LabNames.bridgeNamespace, "link", "set", n.bridgePort, "up")
                for other in state.specs(stateDir: stateDir) where other.index != n.index {
                    if let peer, peer.index != other.index { continue }
                    _ = try? Command.run([Netns.ip, "-n", n.namespace, "route", "del", "blackhole", "\(other.underlay)/32"])
                    _ = try? Command.run([Netns.ip, "-n", other.namespace, "route", "del", "blackhole", "\(n.underlay)/32"])
                }
            }
            for n in state.specs(stateDir: stateDir) { signalTincd(n, SIGALRM) }
            return "healed the underlay of \(targets.map(\.name).joined(separator: ",")) and sent ALRM to every tincd"
        case .deleteHostKey:
            let n = try need(), p = try needPeer()
            let file = "\(n.tincHostsDir)/\(p.name)"
            try mkdir(n.faultDir)
            if FileManager.default.fileExists(atPath: file) {
                try copy(file, "\(n.faultDir)/hosts-\(p.name)")
                try? FileManager.default.removeItem(atPath: file)
            }
            signalTincd(n, SIGHUP)
            return "removed \(file) and sent HUP to tincd on \(n.name)"
        case .restoreHostKey:
            let n = try need(), p = try needPeer()
            // The peer's own host file is the truth; the backup is only a fallback.
            let source = FileManager.default.fileExists(atPath: "\(p.tincHostsDir)/\(p.name)")
                ? "\(p.tincHostsDir)/\(p.name)" : "\(n.faultDir)/hosts-\(p.name)"
            try copy(source, "\(n.tincHostsDir)/\(p.name)")
            signalTincd(n, SIGHUP); signalTincd(n, SIGALRM); signalTincd(p, SIGALRM)
            return "restored hosts/\(p.name) on \(n.name), sent HUP+ALRM"
        case .dropConnectTo:
            let n = try need()
            try mkdir(n.faultDir)
            var dropped = 0
            for file in tincConfigFiles(n) {
                let text = try read(file)
                let backup = "\(n.faultDir)/connectto-" + (file as NSString).lastPathComponent
                if !FileManager.default.fileExists(atPath: backup) { try write(backup, text) }
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let kept = lines.filter { !$0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("connectto") }
                dropped += lines.count - kept.count
                try write(file, kept.joined(separator: "\n"))
            }
            signalTincd(n, SIGHUP)
            return "dropped \(dropped) ConnectTo lines on \(n.name) and sent HUP"
        case .restoreConnectTo:
            let n = try need()
            for file in tincConfigFiles(n) {
                let backup = "\(n.faultDir)/connectto-" + (file as NSString).lastPathComponent
                guard FileManager.default.fileExists(atPath: backup) else { continue }
                try copy(backup, file)
                try? FileManager.default.removeItem(atPath: backup)
            }
            signalTincd(n, SIGHUP); signalTincd(n, SIGALRM)
            return "restored the ConnectTo lines on \(n.name), sent HUP+ALRM"
        case .corruptTincConf:
            let n = try need()
            try mkdir(n.faultDir)
            let backup = "\(n.faultDir)/tinc.conf"
            if !FileManager.default.fileExists(atPath: backup) { try copy(n.tincConf, backup) }
            // tinc 1.0.36 accepts most garbage lines; a variable without a value fails the whole file.
            try write(n.tincConf, "# corrupted by bgpmesh-lab\nName = \(n.name)\nMode\nInterface\n")
            signalTincd(n, SIGHUP)
            return "corrupted \(n.tincConf) and sent HUP to tincd on \(n.name)"
        case .restoreTincConf:
            let n = try need()
            let backup = "\(n.faultDir)/tinc.conf"
            if FileManager.default.fileExists(atPath: backup) {
                try copy(backup, n.tincConf)
                try? FileManager.default.removeItem(atPath: backup)
            }
            if isRunning(.tincd, n) {
                signalTincd(n, SIGHUP); signalTincd(n, SIGALRM)
                return "restored \(n.tincConf), sent HUP+ALRM"
            }
            try startDaemon(.tincd, n, state: state)
            return "restored \(n.tincConf) and started tincd on \(n.name)"
        }
    }

    func daemon(of kind: FaultKind) -> DaemonKind {
        switch kind {
        case .killTincd, .restartTincd, .pauseTincd, .resumeTincd: return .tincd
        case .killBird, .restartBird, .pauseBird, .resumeBird: return .bird
        case .killAgent, .restartAgent, .pauseAgent, .resumeAgent: return .agent
        default: return .etcd
        }
    }

    /// tinc.conf and the conf.d files tinc 1.0.36 reads.
    func tincConfigFiles(_ n: NodeSpec) -> [String] {
        let extra = ((try? FileManager.default.contentsOfDirectory(atPath: n.tincConfD)) ?? [])
            .filter { $0.hasSuffix(".conf") }.sorted().map { "\(n.tincConfD)/\($0)" }
        return [n.tincConf] + extra
    }
}

/// Parameters of `fault netem`.
public struct FaultOptions: Sendable, Equatable {
    /// Packet loss in percent (0 to 100).
    public var loss: Double
    /// Added delay in milliseconds.
    public var delay: Double
    /// With a PEER: both directions, not only NODE->PEER.
    public var both: Bool

    public init(loss: Double = 0, delay: Double = 0, both: Bool = false) {
        self.loss = loss
        self.delay = delay
        self.both = both
    }

    /// The netem part of a tc command line.
    func netemArguments() throws(LabError) -> [String] {
        guard (0...100).contains(loss), (0...60_000).contains(delay) else {
            throw .invalidArgument("netem needs --loss between 0 and 100 (percent) and --delay between 0 and 60000 (ms); got \(loss) and \(delay)")
        }
        guard loss > 0 || delay > 0 else { throw .invalidArgument("netem needs --loss P or --delay MS (or both)") }
        var args = ["netem"]
        if loss > 0 { args += ["loss", "\(loss)%"] }
        if delay > 0 { args += ["delay", "\(delay)ms"] }
        return args
    }
}

// MARK: - Pauses, netem, isolation, full disk, etcd NOSPACE, garbled host files

extension Lab {
    func pausedRecord(_ d: DaemonKind, _ n: NodeSpec) -> String { "\(n.faultDir)/paused-\(d.rawValue).pid" }

    /// SIGSTOP (pause-*) or SIGCONT (resume-*). The paused pid is remembered, so the resume reaches
    /// it even when the pidfile names a newer process (a restart by the agent meanwhile).
    func pauseFault(_ kind: FaultKind, _ n: NodeSpec, state: LabState) throws(LabError) -> String {
        let d = daemon(of: kind)
        if d == .etcd && !n.isEtcdMember { throw .invalidArgument("\(n.name) is an etcd client, not a member (members: node1-node3)") }
        if d == .agent && state.agentBinary == nil { throw .invalidArgument("the lab runs without agents") }
        let record = pausedRecord(d, n)
        switch kind {
        case .pauseTincd, .pauseBird, .pauseAgent, .pauseEtcd:
            guard let p = pid(d, n) else { throw .invalidArgument("\(d.rawValue) on \(n.name) is not running, nothing to pause") }
            try mkdir(n.faultDir)
            try write(record, "\(p)\n")
            guard kill(p, SIGSTOP) == 0 else { throw .io(path: "/proc/\(p)", reason: "kill SIGSTOP: \(String(cString: strerror(errno)))") }
            let deadline = Date().addingTimeInterval(2)
            while processState(p) != "T" && Date() < deadline { usleep(10_000) }
            return "paused \(d.rawValue) on \(n.name) (pid \(p), SIGSTOP); undo: resume-\(d.rawValue) \(n.name)"
        default:
            var pids = Set<Int32>()
            if let p = Command.readPid(record) { pids.insert(p) }
            if let p = pid(d, n) { pids.insert(p) }
            var resumed: [Int32] = []
            for p in pids.sorted() where Command.isAlive(p) && (processState(p) == "T" || processState(p) == "t") {
                if kill(p, SIGCONT) == 0 { resumed.append(p) }
            }
            try? FileManager.default.removeItem(atPath: record)
            return resumed.isEmpty ? "\(d.rawValue) on \(n.name) was not paused"
                : "resumed \(d.rawValue) on \(n.name) (pid \(resumed.map(String.init).joined(separator: ",")), SIGCONT)"
        }
    }

    func tc(_ ns: String, _ args: [String]) throws(LabError) {
        let r = try Netns.exec(ns, ["tc"] + args, timeout: 10)
        guard r.succeeded else {
            if r.stderr.contains("qdisc kind is unknown"), let kind = args.first(where: { ["netem", "prio"].contains($0) }) {
                throw .invalidArgument("this kernel has no \(kind) qdisc (sch_\(kind), CONFIG_NET_SCH_\(kind.uppercased())): tc \(kind) faults cannot run here"
                                       + "; packet loss alone works without it: `fault loss NODE [PEER] --loss P` (XDP)")
            }
            throw .commandFailed(command: Command.render(["tc"] + args) + " in \(ns)", status: r.status, stderr: r.stderr)
        }
    }

    /// Whether the kernel has the qdiscs `netem` needs (tried on the monitoring namespace's lo).
    public func netemSupported() -> Bool {
        let ns = LabNames.monitoringNamespace
        var ok = true
        for q in [["netem", "delay", "1ms"], ["prio"]] {
            let r = try? Netns.exec(ns, ["tc", "qdisc", "replace", "dev", "lo", "root"] + q, timeout: 10)
            ok = ok && (r?.succeeded ?? false)
            _ = try? Netns.exec(ns, ["tc", "qdisc", "del", "dev", "lo", "root"], timeout: 10)
        }
        return ok
    }

    /// tc netem on the underlay. Without a peer: on both ends of the node's link (its `ul0` and the
    /// bridge port), so every packet to and from the node. With a peer: on the node's `ul0` only,
    /// for packets to the peer's underlay address (a prio qdisc whose fourth band holds the netem,
    /// a u32 filter per peer), so one direction; `both` does the same on the peer's side.
    func applyNetem(_ n: NodeSpec, peer: NodeSpec?, options: FaultOptions) throws(LabError) -> String {
        let netem = try options.netemArguments()
        let what = netem.dropFirst().joined(separator: " ")
        guard let p = peer else {
            try tc(n.namespace, ["qdisc", "replace", "dev", LabNames.underlayInterface, "root"] + netem)
            try tc(LabNames.bridgeNamespace, ["qdisc", "replace", "dev", n.bridgePort, "root"] + netem)
            return "netem \(what) on every packet to and from \(n.name) (its \(LabNames.underlayInterface) and bridge port \(n.bridgePort)); undo: clear-netem \(n.name)"
        }
        guard p.index != n.index else { throw .invalidArgument("netem: NODE and PEER are the same node") }
        func oneWay(_ from: NodeSpec, _ to: NodeSpec) throws(LabError) {
            let dev = LabNames.underlayInterface
            let qdiscs = (try? Netns.exec(from.namespace, ["tc", "qdisc", "show", "dev", dev], timeout: 10).stdout) ?? ""
            if !qdiscs.contains("qdisc prio 1: root") {
                // Bands 1-3 as the default pfifo_fast priomap; band 4 only through the filters.
                try tc(from.namespace, ["qdisc", "replace", "dev", dev, "root", "handle", "1:", "prio", "bands", "4",
                                        "priomap", "1", "2", "2", "2", "1", "2", "0", "0", "1", "1", "1", "1", "1", "1", "1", "1"])
            }
            try tc(from.namespace, ["qdisc", "replace", "dev", dev, "parent", "1:4", "handle", "40:"] + netem)
            let pref = String(100 + to.index)
            _ = try? Netns.exec(from.namespace, ["tc", "filter", "del", "dev", dev, "parent", "1:", "pref", pref], timeout: 10)
            try tc(from.namespace, ["filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "pref", pref,
                                    "u32", "match", "ip", "dst", "\(to.underlay)/32", "flowid", "1:4"])
        }
        try oneWay(n, p)
        if options.both { try oneWay(p, n) }
        return "netem \(what) on packets \(n.name)->\(p.name)" + (options.both ? " and \(p.name)->\(n.name)" : " (one direction)")
            + "; undo: clear-netem \(n.name)" + (options.both ? " and clear-netem \(p.name)" : "")
    }

    /// Removes the root qdisc of each node's `ul0` and of its bridge port (back to the default).
    func clearNetem(_ nodes: [NodeSpec]) throws(LabError) -> String {
        var cleared: [String] = []
        for n in nodes {
            var any = false
            for (ns, dev) in [(n.namespace, LabNames.underlayInterface), (LabNames.bridgeNamespace, n.bridgePort)] {
                let show = (try? Netns.exec(ns, ["tc", "qdisc", "show", "dev", dev], timeout: 10).stdout) ?? ""
                guard show.contains("netem") || show.contains("qdisc prio 1: root") else { continue }
                try tc(ns, ["qdisc", "del", "dev", dev, "root"])
                any = true
            }
            if any { cleared.append(n.name) }
        }
        return cleared.isEmpty ? "no netem to clear" : "cleared netem on \(cleared.joined(separator: ","))"
    }

    // MARK: fill-disk

    var fillFile: String { ".bgpmesh-lab-fill" }

    /// Mount namespaces of the node's processes that have a mount on the tinc directory: one pid each.
    func fillMounts(_ n: NodeSpec) -> [Int32] {
        var seen = Set<String>()
        var out: [Int32] = []
        for p in Netns.pids(in: n.namespace) {
            guard let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p)/ns/mnt"),
                  !seen.contains(ns) else { continue }
            seen.insert(ns)
            let info = (try? String(contentsOfFile: "/proc/\(p)/mountinfo", encoding: .utf8)) ?? ""
            if info.split(separator: "\n").contains(where: { $0.split(separator: " ").dropFirst(4).first.map(String.init) == n.tincDir }) {
                out.append(p)
            }
        }
        return out
    }

    /// The node's tinc directory on a small tmpfs in the mount namespaces of its agent and its tincd
    /// (each `ip netns exec` made its own; a tincd the agent restarts inherits the agent's), with
    /// the files copied in and the rest of the tmpfs filled, so writes fail with ENOSPC. The files
    /// on disk stay as they are underneath; a copy goes to fault-backup/fill-disk first.
    func fillDisk(_ n: NodeSpec) throws(LabError) -> String {
        guard fillMounts(n).isEmpty else { return "\(n.name)'s tinc directory is already on a full tmpfs" }
        var targets: [Int32] = []
        var namespaces = Set<String>()
        for d in [DaemonKind.agent, .tincd] {
            guard let p = pid(d, n), let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p)/ns/mnt"),
                  !namespaces.contains(ns) else { continue }
            namespaces.insert(ns)
            targets.append(p)
        }
        guard !targets.isEmpty else { throw .invalidArgument("neither the agent nor tincd runs on \(n.name): no process would see the full disk") }
        try mkdir(n.faultDir)
        let backup = "\(n.faultDir)/fill-disk"
        try? FileManager.default.removeItem(atPath: backup)
        try Command.run(["cp", "-a", n.tincDir, backup], timeout: 20, check: true)
        let used = (try? Command.run(["du", "-sk", n.tincDir], timeout: 10).stdout.split(separator: "\t").first.flatMap { Int($0) }) ?? 0
        let sizeKiB = (used + 256 + 3) / 4 * 4
        let mnt = "\(n.faultDir)/fill-mnt"
        try mkdir(mnt)
        let script = """
            set -e
            mount -t tmpfs -o size=$3k,mode=0755 bgpmesh-lab-fill "$2"
            if ! cp -a "$1/." "$2/"; then umount "$2"; exit 1; fi
            dd if=/dev/zero of="$2/\(fillFile)" bs=4096 2>/dev/null || true
            mount --move "$2" "$1"
            """
        for p in targets {
            try Command.run(["nsenter", "-t", String(p), "-m", "--", "sh", "-c", script, "sh", n.tincDir, mnt, String(sizeKiB)],
                            timeout: 20, check: true)
        }
        return "\(n.name)'s tinc directory is on a full \(sizeKiB) KiB tmpfs for pid \(targets.map(String.init).joined(separator: ",")) (files on disk untouched, copy in \(backup)); undo: free-disk \(n.name)"
    }

    /// Copies what changed on the tmpfs back to the disk (atomically, file by file; nothing is
    /// deleted), then unmounts it in every mount namespace that has it.
    func freeDisk(_ n: NodeSpec) throws(LabError) -> String {
        let holders = fillMounts(n)
        guard let first = holders.first else { return "\(n.name)'s tinc directory is not on a tmpfs" }
        let stage = "\(n.faultDir)/fill-stage"
        try? FileManager.default.removeItem(atPath: stage)
        try mkdir(stage)
        try Command.run(["nsenter", "-t", String(first), "-m", "--", "sh", "-c", "cp -a \"$1/.\" \"$2/\" && rm -f \"$2/\(fillFile)\"",
                         "sh", n.tincDir, stage], timeout: 20, check: true)
        for p in holders {
            let r = try Command.run(["nsenter", "-t", String(p), "-m", "--", "umount", n.tincDir], timeout: 10)
            if !r.succeeded { try Command.run(["nsenter", "-t", String(p), "-m", "--", "umount", "-l", n.tincDir], timeout: 10, check: true) }
        }
        var written: [String] = []
        let fm = FileManager.default
        for rel in (fm.subpaths(atPath: stage) ?? []).sorted() {
            let src = "\(stage)/\(rel)", dst = "\(n.tincDir)/\(rel)"
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: src, isDirectory: &isDir) else { continue }
            if isDir.boolValue { try mkdir(dst); continue }
            guard let data = fm.contents(atPath: src), fm.contents(atPath: dst) != data else { continue }
            let mode = (try? fm.attributesOfItem(atPath: src)[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
            do {
                try data.write(to: URL(fileURLWithPath: dst), options: .atomic)
                try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: dst)
            } catch { throw .io(path: dst, reason: "\(error)") }
            written.append(rel)
        }
        try? fm.removeItem(atPath: stage)
        try? fm.removeItem(atPath: "\(n.faultDir)/fill-disk")
        return "unmounted the tmpfs on \(n.name)'s tinc directory (pid \(holders.map(String.init).joined(separator: ",")))"
            + (written.isEmpty ? "; nothing changed on it" : "; copied back \(written.joined(separator: ","))")
    }

    // MARK: etcd NOSPACE

    func etcdctl(_ members: [NodeSpec], _ args: [String], check: Bool = true) throws(LabError) -> CommandResult {
        guard let first = members.first(where: { isRunning(.etcd, $0) }) ?? members.first else {
            throw .invalidArgument("the lab has no etcd member")
        }
        return try Netns.exec(first.namespace, ["etcdctl", "--endpoints", LabTemplates.etcdEndpoints(members: members),
                                                "--dial-timeout=2s", "--command-timeout=5s"] + args, timeout: 15, check: check)
    }

    /// Raises etcd's NOSPACE alarm through the maintenance API (`Alarm` with action ACTIVATE, on the
    /// JSON gateway): the request etcd makes itself when a write would exceed its
    /// --quota-backend-bytes. From then on the cluster refuses puts, transactions and lease grants
    /// with "etcdserver: mvcc: database space exceeded", as with a full quota, until the alarm is
    /// disarmed. (etcdctl can list and disarm alarms, not raise them; filling the 2 GiB default
    /// quota for real would take minutes and the disk.)
    func etcdNospace(state: LabState) throws(LabError) -> String {
        let members = state.etcdMembers(stateDir: stateDir)
        guard let m = members.first(where: { isRunning(.etcd, $0) }) else { throw .invalidArgument("no etcd member is running") }
        let st = try etcdctl([m], ["endpoint", "status", "-w", "json"])
        guard let id = Self.jsonUInt(st.stdout, key: "member_id") else {
            throw .commandFailed(command: "etcdctl endpoint status", status: 0, stderr: "no member_id in: \(st.stdout.prefix(200))")
        }
        let body = #"{"action":"ACTIVATE","memberID":"\#(id)","alarm":"NOSPACE"}"#
        try Netns.exec(m.namespace, ["curl", "-sS", "--fail", "--max-time", "5", "-X", "POST", "-d", body,
                                     "http://\(m.underlay):\(LabNames.etcdClientPort)/v3/maintenance/alarm"], timeout: 10, check: true)
        let list = try etcdctl(members, ["alarm", "list"])
        guard list.stdout.contains("NOSPACE") else {
            throw .commandFailed(command: "etcdctl alarm list", status: 0, stderr: "the NOSPACE alarm is not listed after raising it: \(list.stdout)")
        }
        return "raised etcd's NOSPACE alarm (member \(m.name), id \(id)): writes fail with 'database space exceeded'; undo: clear-etcd-nospace"
    }

    /// What an operator does after NOSPACE: compact to the current revision, defragment every
    /// member, disarm the alarm.
    func clearEtcdNospace(state: LabState) throws(LabError) -> String {
        let members = state.etcdMembers(stateDir: stateDir)
        let st = try etcdctl(members, ["endpoint", "status", "-w", "json"])
        var steps: [String] = []
        if let rev = Self.jsonUInt(st.stdout, key: "revision") {
            let r = try etcdctl(members, ["compact", rev], check: false)
            steps.append(r.succeeded ? "compacted to revision \(rev)" : "compact: \((r.stderr + r.stdout).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "")")
        }
        let d = try etcdctl(members, ["defrag"], check: false)
        steps.append(d.succeeded ? "defragmented" : "defrag: \((d.stderr + d.stdout).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "")")
        try etcdctl(members, ["alarm", "disarm"])
        let list = try etcdctl(members, ["alarm", "list"])
        guard !list.stdout.contains("NOSPACE") else {
            throw .commandFailed(command: "etcdctl alarm disarm", status: 0, stderr: "NOSPACE still listed: \(list.stdout)")
        }
        return "etcd: " + steps.joined(separator: ", ") + ", alarm disarmed"
    }

    /// The first unsigned integer value of `"key":` in a JSON text, as digits (etcd's ids do not fit a Double).
    static func jsonUInt(_ text: String, key: String) -> String? {
        guard let r = text.range(of: "\"\(key)\":") else { return nil }
        let digits = text[r.upperBound...].drop { $0 == " " || $0 == "\"" }.prefix { $0.isNumber }
        return digits.isEmpty ? nil : String(digits)
    }

    // MARK: garbled host files

    func hostFileBackup(_ n: NodeSpec, _ p: NodeSpec) -> String { "\(n.faultDir)/hostfile-\(p.name)" }

    /// Overwrites hosts/PEER on NODE with random bytes of about its size (no signal: a disk error
    /// does not tell tincd either). The original goes to fault-backup/hostfile-PEER first.
    func corruptHostFile(_ n: NodeSpec, _ p: NodeSpec) throws(LabError) -> String {
        let file = "\(n.tincHostsDir)/\(p.name)"
        guard let original = FileManager.default.contents(atPath: file) else {
            throw .invalidArgument("\(n.name) has no hosts/\(p.name) to corrupt")
        }
        try mkdir(n.faultDir)
        let backup = hostFileBackup(n, p)
        if !FileManager.default.fileExists(atPath: backup) {
            do { try original.write(to: URL(fileURLWithPath: backup), options: .atomic) } catch { throw .io(path: backup, reason: "\(error)") }
        }
        var rng = SystemRandomNumberGenerator()
        let garbage = Data((0..<max(64, original.count)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        do { try garbage.write(to: URL(fileURLWithPath: file), options: .atomic) } catch { throw .io(path: file, reason: "\(error)") }
        return "wrote \(garbage.count) random bytes over \(file) (backup \(backup)); undo: restore-host-file \(n.name) \(p.name)"
    }

    func restoreHostFile(_ n: NodeSpec, _ p: NodeSpec) throws(LabError) -> String {
        let file = "\(n.tincHostsDir)/\(p.name)", backup = hostFileBackup(n, p)
        guard let data = FileManager.default.contents(atPath: backup) else { return "no backup of hosts/\(p.name) on \(n.name)" }
        let same = FileManager.default.contents(atPath: file) == data
        if !same {
            do { try data.write(to: URL(fileURLWithPath: file), options: .atomic) } catch { throw .io(path: file, reason: "\(error)") }
        }
        try? FileManager.default.removeItem(atPath: backup)
        signalTincd(n, SIGHUP); signalTincd(n, SIGALRM)
        return same ? "hosts/\(p.name) on \(n.name) was already intact (repaired meanwhile); backup removed"
            : "restored hosts/\(p.name) on \(n.name) from the backup, sent HUP+ALRM"
    }

    // MARK: heal-all

    /// Undoes every fault that left a trace: paused daemons, netem, XDP loss, cut or isolated links, full
    /// disks, the etcd NOSPACE alarm, garbled or removed files with a backup, and starts every lab
    /// daemon that is not running. Idempotent; returns one line per thing it did or could not do.
    public func healAll(state: LabState) -> [String] {
        var out: [String] = []
        let nodes = state.specs(stateDir: stateDir)
        func attempt(_ what: String, _ body: () throws(LabError) -> String?) {
            do throws(LabError) { if let s = try body() { out.append(s) } } catch { out.append("\(what): \(error.description)") }
        }
        for n in nodes {
            for (kind, d) in [(FaultKind.resumeTincd, DaemonKind.tincd), (.resumeBird, .bird), (.resumeAgent, .agent), (.resumeEtcd, .etcd)] {
                let paused = pid(d, n).map { processState($0) == "T" } ?? false
                guard paused || FileManager.default.fileExists(atPath: pausedRecord(d, n)) else { continue }
                attempt("resume \(d.rawValue) on \(n.name)") { () throws(LabError) in try pauseFault(kind, n, state: state) }
            }
        }
        attempt("clear-netem") { () throws(LabError) in
            let s = try clearNetem(nodes)
            return s == "no netem to clear" ? nil : s
        }
        attempt("clear-loss") { () throws(LabError) in
            let s = try clearLoss(nodes, state: state)
            return s == "no loss to clear" ? nil : s
        }
        attempt("heal-link") { () throws(LabError) in try fault(.healLink, node: nil, peer: nil, state: state) }
        for n in nodes where !fillMounts(n).isEmpty {
            attempt("free-disk \(n.name)") { () throws(LabError) in try freeDisk(n) }
        }
        let members = state.etcdMembers(stateDir: stateDir)
        if members.contains(where: { isRunning(.etcd, $0) }),
           let list = try? etcdctl(members, ["alarm", "list"], check: false), list.stdout.contains("NOSPACE") {
            attempt("clear-etcd-nospace") { () throws(LabError) in try clearEtcdNospace(state: state) }
        }
        for n in nodes {
            let backups = (try? FileManager.default.contentsOfDirectory(atPath: n.faultDir)) ?? []
            for b in backups.sorted() {
                if b.hasPrefix("hostfile-"), let p = try? resolve(String(b.dropFirst(9)), in: state) {
                    attempt("restore-host-file \(n.name) \(p.name)") { () throws(LabError) in try restoreHostFile(n, p) }
                } else if b.hasPrefix("hosts-"), let p = try? resolve(String(b.dropFirst(6)), in: state),
                          !FileManager.default.fileExists(atPath: "\(n.tincHostsDir)/\(p.name)") {
                    attempt("restore-host-key \(n.name) \(p.name)") { () throws(LabError) in try fault(.restoreHostKey, node: n.name, peer: p.name, state: state) }
                }
            }
            if backups.contains(where: { $0.hasPrefix("connectto-") }) {
                attempt("restore-connectto \(n.name)") { () throws(LabError) in try fault(.restoreConnectTo, node: n.name, peer: nil, state: state) }
            }
            if backups.contains("tinc.conf") {
                attempt("restore-tinc-conf \(n.name)") { () throws(LabError) in try fault(.restoreTincConf, node: n.name, peer: nil, state: state) }
            }
        }
        for n in nodes {
            var kinds: [DaemonKind] = [.tincd, .bird]
            if n.isEtcdMember { kinds.append(.etcd) }
            if state.agentBinary != nil { kinds.append(.agent) }
            for d in kinds where !isRunning(d, n) {
                attempt("start \(d.rawValue) on \(n.name)") { () throws(LabError) in
                    try startDaemon(d, n, state: state)
                    return "started \(d.rawValue) on \(n.name)"
                }
            }
        }
        return out.isEmpty ? ["nothing to heal"] : out
    }
}
