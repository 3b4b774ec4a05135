import Foundation

/// Fixed names, addresses and ports of the lab. Everything the lab creates carries `prefix`,
/// so `down` finds leftovers even without state.
public enum LabNames {
    public static let prefix = "bml-"
    public static let bridgeNamespace = "bml-br"
    public static let monitoringNamespace = "bml-mon"
    public static let bridge = "br0"
    public static let underlayInterface = "ul0"
    public static let tincNet = "bgpmesh"
    /// The agents' registry prefix in etcd (their default, `/bgpmesh/<mesh.name>/`).
    public static let registryPrefix = "/bgpmesh/bgpmesh/"
    public static let tincInterface = "tinc0"
    /// The agents' `mesh.overlay-prefixes`: the overlay addresses and the nodes' routed prefixes.
    public static let overlayPrefixes = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]
    public static let asn = 65000
    /// The BGP template bird.conf defines and the peers file's protocols use (`bird.template`).
    public static let birdTemplate = "bgpmesh"
    /// Peers' protocol names: this prefix and the node name (as the agent names them).
    public static let bgpProtocolPrefix = "bgpmesh_"
    /// The reflectors' shared `rr cluster id` (`bird.rr-cluster-id`).
    public static let rrClusterID = "192.0.2.254"
    public static let tincPort = 655
    public static let agentPort = 10179
    public static let etcdClientPort = 12379
    public static let etcdPeerPort = 12380
    public static let prometheusPort = 19090
    public static let alertmanagerPort = 19093
    /// The alert sink (`bgpmesh-lab sink`): the lab's human receivers, and a copy of the agents' webhook calls.
    public static let sinkPort = 19095
    public static let monitoringAddress = "192.0.2.250"
    public static let etcdMemberCount = 3
    public static let maxNodes = 200
    /// Host loopback ports the forwarder listens on.
    public static let hostPrometheusPort = 19090
    public static let hostAlertmanagerPort = 19093
    public static let hostAgentPortBase = 20100
}

/// One node's names, addresses and file locations. Node `i` is `node<i>`, underlay `192.0.2.i`.
public struct NodeSpec: Sendable, Hashable, Comparable {
    public let index: Int
    public let stateDir: String

    public init(index: Int, stateDir: String) {
        self.index = index
        self.stateDir = stateDir
    }

    public static func < (a: NodeSpec, b: NodeSpec) -> Bool { a.index < b.index }

    public var name: String { "node\(index)" }
    public var namespace: String { "\(LabNames.prefix)n\(index)" }
    /// Name of the veth end that sits in the bridge namespace.
    public var bridgePort: String { "n\(index)" }
    public var underlay: String { "192.0.2.\(index)" }
    public var overlay4: String { "198.51.100.\(index)" }
    public var overlay6: String { "2001:db8::\(String(index, radix: 16))" }
    public var prefix4: String { "203.0.113.\(index)/32" }
    public var prefix6: String { "2001:db8:ff:\(String(index, radix: 16))::/64" }
    public var isEtcdMember: Bool { index <= LabNames.etcdMemberCount }
    public var agentListen: String { "\(underlay):\(LabNames.agentPort)" }
    public var etcdClientURL: String { "http://\(underlay):\(LabNames.etcdClientPort)" }
    public var etcdPeerURL: String { "http://\(underlay):\(LabNames.etcdPeerPort)" }
    public var hostAgentPort: Int { LabNames.hostAgentPortBase + index }

    public var dir: String { "\(stateDir)/\(name)" }
    /// The agent's `state.dir` (pins, owned files), mode 700.
    public var agentStateDir: String { "\(dir)/agent-state" }
    public var tincDir: String { "\(dir)/tinc/\(LabNames.tincNet)" }
    public var tincConf: String { "\(tincDir)/tinc.conf" }
    public var tincHostsDir: String { "\(tincDir)/hosts" }
    public var tincConfD: String { "\(tincDir)/conf.d" }
    public var birdDir: String { "\(dir)/bird" }
    public var birdConf: String { "\(birdDir)/bird.conf" }
    public var birdSocket: String { "\(birdDir)/bird.ctl" }
    /// The include bird.conf reads its BGP peers from (`bird.peers-file`).
    public var birdPeersFile: String { "\(birdDir)/bgpmesh-peers.conf" }
    /// A bare node's agent config, written by `bgpmesh-agent join` (`add-node --bare`).
    public var agentConfigFile: String { "\(agentDir)/agent.yml" }
    /// Where the Ansible role installs a bare node's agent binary; `start-node` prefers it.
    public var installedAgentBinary: String { "\(dir)/bin/bgpmesh-agent" }
    public var etcdDataDir: String { "\(dir)/etcd" }
    public var agentDir: String { "\(dir)/agent" }
    public var logDir: String { "\(dir)/log" }
    public var runDir: String { "\(dir)/run" }
    public var faultDir: String { "\(dir)/fault-backup" }
    public var tincLog: String { "\(logDir)/tincd.log" }
    public var tincPidfile: String { "\(runDir)/tincd.pid" }
    /// The script the agent runs as `repair.tincd-restart-command` (LabTemplates.tincdRestartScript).
    public var tincdRestartScript: String { "\(runDir)/restart-tincd" }
    /// While this file exists, the next restart by that script stops tincd and fails (removing the
    /// file): the lab's stand-in for a tincd that refuses a new key.
    public var tincdRestartFailOnce: String { "\(runDir)/restart-tincd.fail-once" }
    /// The script the agent runs as `repair.bird-restart-command` (LabTemplates.birdRestartScript).
    public var birdRestartScript: String { "\(runDir)/restart-bird" }
    /// While this file exists, the restart scripts stop the daemon and fail without starting it: a
    /// fault held against the agent's repair (`bgpmesh-lab pages`), as a service that cannot start.
    public func restartHold(_ kind: DaemonKind) -> String { "\(runDir)/restart-\(kind.rawValue).held" }

    public func pidfile(_ kind: DaemonKind) -> String { "\(runDir)/\(kind.rawValue).pid" }
    public func log(_ kind: DaemonKind) -> String {
        kind == .tincd ? tincLog : "\(logDir)/\(kind.rawValue).log"
    }
}

/// The kinds of process the lab runs on a node.
public enum DaemonKind: String, CaseIterable, Sendable, Codable {
    case tincd, bird, etcd, agent
}

/// The monitoring namespace's files.
public struct MonitoringSpec: Sendable {
    public let stateDir: String
    public var dir: String { "\(stateDir)/mon" }
    public var prometheusConfig: String { "\(dir)/prometheus.yml" }
    public var prometheusData: String { "\(dir)/prometheus-data" }
    public var alertmanagerConfig: String { "\(dir)/alertmanager.yml" }
    public var alertmanagerData: String { "\(dir)/alertmanager-data" }
    public var webhookTokenFile: String { "\(dir)/webhook.token" }
    public var runDir: String { "\(dir)/run" }
    public var logDir: String { "\(dir)/log" }
    public var prometheusURL: String { "http://\(LabNames.monitoringAddress):\(LabNames.prometheusPort)" }
    public var alertmanagerURL: String { "http://\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)" }
    /// Where the sink appends every webhook POST it takes, one JSON line each (`SinkDelivery`).
    public var sinkFile: String { "\(dir)/sink.jsonl" }
    public var sinkURL: String { "http://\(LabNames.monitoringAddress):\(LabNames.sinkPort)" }
    public func pidfile(_ name: String) -> String { "\(runDir)/\(name).pid" }
    public func log(_ name: String) -> String { "\(logDir)/\(name).log" }
}
