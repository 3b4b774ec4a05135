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
        }
    }
}

extension Lab {
    /// Injects or undoes one fault and returns a one-line account of what it did.
    public func fault(_ kind: FaultKind, node nodeName: String?, peer peerName: String?,
                      state: LabState) throws(LabError) -> String {
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
        case .killTincd, .restartTincd: return .tincd
        case .killBird, .restartBird: return .bird
        case .killAgent, .restartAgent: return .agent
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
