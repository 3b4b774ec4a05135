import Foundation
import Synchronization

/// The one place that builds a node's `bgpmesh-agent` command line.
///
/// Later collectors add their flags here. `--agent-arg` adds more at run time; it expands
/// placeholders such as `{bird_socket}` (see `placeholders`).
public enum AgentCommand {
    public static func arguments(binary: String, node: NodeSpec, lab: LabState, extra: [String]) -> [String] {
        if lab.bare.contains(node.index) { return bareArguments(binary: binary, node: node, lab: lab, extra: extra) }
        var args = [
            binary, "run",
            "--web.listen-address", node.agentListen,
            "--log.format", "logfmt",
            "--log.level", "info",
            "--collector.bird.socket", node.birdSocket,
            "--collector.tinc.dir", node.tincDir,
            "--collector.tinc.pidfile", node.tincPidfile,
            "--collector.tinc.logfile", node.tincLog,
            // The lab signals tincd too (faults); one lock keeps the two from colliding.
            "--collector.tinc.signal-lock-file", "\(node.runDir)/tincd.signal.lock",
            "--etcd.endpoints", LabTemplates.etcdEndpoints(members: lab.etcdMembers(stateDir: node.stateDir)),
            // Every record's overlay addresses and subnets must lie in these (LabLayout's overlay and prefixes).
            "--mesh.overlay-prefixes", LabNames.overlayPrefixes.joined(separator: ","),
            // Pins and the agent's list of the files it wrote; kept across agent restarts, gone with `down`.
            "--state.dir", node.agentStateDir,
        ]
        // Sampler, probe and dump intervals for the lab's size (LabTimers, docs/scale.md). A small
        // lab dumps tincd every second (two signals 200 ms apart) instead of every 5 s, so that
        // with its tinc ping timers a cut link shows in the tinc metrics within 5 s.
        args += lab.timers.agentArguments
        // A real node's service manager restarts tincd; in the lab this script does (Lab writes it
        // before the agent starts): used by the repair loop and by key rotation.
        args += ["--repair.tincd-restart-command", node.tincdRestartScript]
        // The same for BIRD (its setting arrives with issue 16; older agents do not know it).
        if knowsSetting("repair.bird-restart-command", binary: binary) { args += ["--repair.bird-restart-command", node.birdRestartScript] }
        // Alertmanager calls each agent's webhook with this token (prometheus/alertmanager.yml).
        args += ["--web.webhook-token-file", MonitoringSpec(stateDir: node.stateDir).webhookTokenFile]
        // The BGP topology and this node's role (nodes 1...R reflect), for the agent's plan and health.
        args += ["--mesh.bgp-topology", lab.topology.rawValue]
        if lab.isReflector(node.index) {
            args += ["--mesh.role", "reflector", "--bird.rr-cluster-id", LabNames.rrClusterID]
        }
        if lab.keys == .manual {
            // With manual keys the lab owns host files, ConnectTo and the BGP peers; the agents only watch.
            args.append("--no-registry")
        } else {
            // The agent writes BIRD's peers from the registry into the file bird.conf includes
            // (LabTemplates.birdConf), from the template bird.conf defines. The AS is given: BIRD
            // has no BGP protocol to read it from until the agent has written the peers.
            args += ["--bird.peers-file", node.birdPeersFile, "--bird.template", LabNames.birdTemplate,
                     "--mesh.asn", String(LabNames.asn)]
        }
        let values = placeholders(node: node, lab: lab)
        args += extra.map { expand($0, values) }
        return args
    }

    /// A bare node's agent: the config file `join` wrote holds the node's identity and paths; the
    /// flags add only what the lab's way of running daemons decides (as a service manager's unit
    /// would): tincd's pidfile, log and signal lock, the restart scripts, the lab's timers.
    static func bareArguments(binary: String, node: NodeSpec, lab: LabState, extra: [String]) -> [String] {
        var args = [binary, "run", "--config.file", node.agentConfigFile, "--log.format", "logfmt",
                    "--collector.tinc.pidfile", node.tincPidfile,
                    "--collector.tinc.logfile", node.tincLog,
                    "--collector.tinc.signal-lock-file", "\(node.runDir)/tincd.signal.lock",
                    "--web.webhook-token-file", MonitoringSpec(stateDir: node.stateDir).webhookTokenFile,
                    "--repair.tincd-restart-command", node.tincdRestartScript]
        if knowsSetting("repair.bird-restart-command", binary: binary) { args += ["--repair.bird-restart-command", node.birdRestartScript] }
        args += lab.timers.agentArguments
        let values = placeholders(node: node, lab: lab)
        return args + extra.map { expand($0, values) }
    }

    /// The `bgpmesh-agent join` command line that sets bare node `node` up in the lab's layout.
    public static func joinArguments(binary: String, node: NodeSpec, lab: LabState) -> [String] {
        [binary, "join", "--name", node.name,
         "--etcd", LabTemplates.etcdEndpoints(members: lab.etcdMembers(stateDir: node.stateDir)),
         "--underlay", node.underlay,
         "--overlay", "\(node.overlay4)/24", "--overlay", "\(node.overlay6)/64",
         "--announce", node.prefix4, "--announce", node.prefix6]
            + LabNames.overlayPrefixes.flatMap { ["--mesh-prefix", $0] }
            + ["--net", LabNames.tincNet, "--tinc-dir", node.tincDir, "--interface", LabNames.tincInterface,
               "--asn", String(LabNames.asn), "--bird-conf", node.birdConf, "--bird-peers-file", node.birdPeersFile,
               "--bird-template", LabNames.birdTemplate, "--bird-socket", node.birdSocket,
               "--config", node.agentConfigFile, "--state-dir", node.agentStateDir, "--listen", node.agentListen]
    }

    /// Whether `binary config-reference` lists `key` (asked once per binary and process).
    public static func knowsSetting(_ key: String, binary: String) -> Bool {
        knownSettings.withLock { cache in
            if let text = cache[binary] { return text.contains("--\(key)") }
            let text = (try? Command.run([binary, "config-reference"], timeout: 10)).map { $0.succeeded ? $0.stdout : "" } ?? ""
            cache[binary] = text
            return text.contains("--\(key)")
        }
    }

    static let knownSettings = Mutex<[String: String]>([:])

    /// Values for `{name}` placeholders in `--agent-arg`.
    public static func placeholders(node: NodeSpec, lab: LabState) -> [String: String] {
        let mon = MonitoringSpec(stateDir: node.stateDir)
        return [
            "node": node.name,
            "index": String(node.index),
            "underlay": node.underlay,
            "overlay4": node.overlay4,
            "overlay6": node.overlay6,
            "prefix4": node.prefix4,
            "prefix6": node.prefix6,
            "asn": String(LabNames.asn),
            "listen": node.agentListen,
            "tinc_net": LabNames.tincNet,
            "tinc_dir": node.tincDir,
            "tinc_pidfile": node.tincPidfile,
            "tinc_log": node.tincLog,
            "tincd_restart_script": node.tincdRestartScript,
            "bird_restart_script": node.birdRestartScript,
            "bird_socket": node.birdSocket,
            "etcd_endpoints": LabTemplates.etcdEndpoints(members: lab.etcdMembers(stateDir: node.stateDir)),
            "webhook_token_file": mon.webhookTokenFile,
            "state_dir": node.dir,
        ]
    }

    public static func expand(_ template: String, _ values: [String: String]) -> String {
        var out = template
        for (k, v) in values { out = out.replacingOccurrences(of: "{\(k)}", with: v) }
        return out
    }
}
