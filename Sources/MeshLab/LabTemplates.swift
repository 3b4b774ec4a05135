import Foundation

/// Configuration files and command lines of the lab's daemons. Pure functions, tested without root.
public enum LabTemplates {
    /// tinc.conf. With manual keys it lists a ConnectTo line for every peer.
    public static func tincConf(node: NodeSpec, connectTo peers: [NodeSpec],
                                timers: LabTimers = .forNodes(1)) -> String {
        var s = """
        # Written by bgpmesh-lab. Managed ConnectTo lines belong in conf.d/bgpmesh.conf.
        Name = \(node.name)
        Mode = switch
        Interface = \(LabNames.tincInterface)
        AddressFamily = ipv4
        Port = \(LabNames.tincPort)
        # Lab timers: tinc 1.0 checks its meta connections every PingTimeout seconds,
        # pings at a check once PingInterval has passed, and drops a connection whose
        # ping is unanswered at the next check. 1 and 1 notice a dead link in 1-2 s
        # (the defaults, 60 and 5, take up to 70 s). tinc counts whole seconds, so a pong
        # or a new connection's handshake may get well under 1 s: fine on the lab bridge.
        # Labs above \(LabTimers.smallLab) nodes ping less often (docs/scale.md).
        PingInterval = \(timers.tincPingInterval)
        PingTimeout = \(timers.tincPingTimeout)

        """
        for p in peers where p.index != node.index { s += "ConnectTo = \(p.name)\n" }
        return s
    }

    /// With `--keys manual`, the peers a node's tinc.conf names in ConnectTo lines: every other node
    /// in a lab of up to `LabTimers.smallLab` nodes; above, the next 3 nodes in a ring (as many as
    /// the agents' `mesh.connect-to` default). tinc 1.0 floods every edge change to every meta
    /// connection, so N - 1 connections each cost O(N³) messages at a cold start: 64 nodes did
    /// not form their mesh within minutes on 2 cores. Data still goes node to node over UDP.
    public static func manualConnectTo(node: NodeSpec, nodes: [NodeSpec]) -> [NodeSpec] {
        let others = nodes.filter { $0.index != node.index }
        guard nodes.count > LabTimers.smallLab else { return others }
        let sorted = nodes.sorted()
        guard let at = sorted.firstIndex(of: node) else { return Array(others.prefix(3)) }
        return (1...3).map { sorted[(at + $0) % sorted.count] }
    }

    /// hosts/<name> without the key; `tincd -K` appends the public key.
    public static func tincHost(node: NodeSpec) -> String {
        "Address = \(node.underlay)\nPort = \(LabNames.tincPort)\n"
    }

    /// tinc-up. The lab creates tinc0 persistent before tincd starts (`Lab.createTincInterface`), so
    /// a tincd restart finds the interface, its addresses and BIRD's routes through it still there,
    /// and runs this script again: `replace`, not `add`, so a second run succeeds.
    public static func tincUp(node: NodeSpec) -> String {
        """
        #!/bin/sh
        # nodad: the overlay IPv6 address must be usable before BIRD starts.
        ip link set dev "$INTERFACE" mtu 1400 up
        ip addr replace \(node.overlay4)/24 dev "$INTERFACE"
        ip -6 addr replace \(node.overlay6)/64 dev "$INTERFACE" nodad

        """
    }

    /// tinc-down leaves the persistent interface up: setting it down would remove its IPv6
    /// address and the kernel routes through it (BIRD's too) on every tincd restart. Without
    /// tincd the device only loses its carrier; the addresses and routes stay, and BGP's TCP
    /// sessions ride the restart out. The interface goes with the namespace at `down`.
    public static let tincDown = """
        #!/bin/sh
        # tinc0 is persistent (ip tuntap add): keep it up, with its addresses and routes, across a
        # tincd restart. Nothing to undo here.
        exit 0

        """

    /// The persistent device the lab creates before tincd starts: `Mode = switch` makes tinc 1.0
    /// open a TAP device (IFF_TAP | IFF_NO_PI, as `ip tuntap` makes it by default), named by
    /// tinc.conf's `Interface`.
    public static func tuntapAddArguments() -> [String] {
        ["tuntap", "add", "dev", LabNames.tincInterface, "mode", "tap"]
    }

    /// tincd's command line on a node: the lab's own start and the node's restart script
    /// (`tincdRestartScript`) use this one list.
    public static func tincdArguments(node: NodeSpec) -> [String] {
        // Debug level 0: less logging in the main loop, fewer chances for the signal deadlock
        // described at `Lab.signalTincd`.
        ["tincd", "-n", LabNames.tincNet, "-c", node.tincDir, "-D",
         "--logfile=\(node.tincLog)", "--pidfile=\(node.tincPidfile)"]
    }

    /// The node's `run/restart-tincd`: what a service manager's restart does for this node's tincd,
    /// given to the agent as `repair.tincd-restart-command`. It stops the tincd named by the
    /// pidfile only if that process is this net's tincd (its command line holds this config
    /// directory), waits for it to exit (SIGKILL after 10 s), starts tincd in the node's namespace
    /// with the lab's own arguments (`tincdArguments`), and exits 0 once the new tincd logs
    /// `Ready`, or 1 with the reason on stderr. It holds the tinc signal lock meanwhile, so neither
    /// the agent's collector nor the lab signals a tincd that has not set up its handlers yet (a
    /// USR1 there would kill it). The persistent tinc0 keeps the addresses and routes throughout.
    /// While `restartHold(.tincd)` exists it stops tincd and fails (a fault held by `pages`).
    public static func tincdRestartScript(node: NodeSpec) -> String {
        let argv = tincdArguments(node: node).map(shellQuote).joined(separator: " ")
        return """
        #!/bin/sh
        # Written by bgpmesh-lab: restarts \(node.name)'s tincd as a service manager would.
        set -u
        PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
        pidfile=\(shellQuote(node.tincPidfile))
        confdir=\(shellQuote(node.tincDir))
        log=\(shellQuote(node.tincLog))
        errlog=\(shellQuote("\(node.logDir)/tincd.stderr.log"))
        alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
        ours() { alive "$1" && tr '\\0' '\\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$confdir"; }
        # One restart at a time. Asked while another ran: that restart answers this request too, as
        # long as it left this net's tincd running (the agent's repair loop may ask while a key
        # rotation restarts tincd; a second restart would cost a second gap).
        exec 8>>\(shellQuote("\(node.runDir)/tincd.restart.lock"))
        waited=0
        if ! flock -n 8; then
            waited=1
            flock -w 30 8 || { echo "restart-tincd: another restart holds the lock for 30 s" >&2; exit 1; }
        fi
        pid=$(cat "$pidfile" 2>/dev/null || true)
        case "$pid" in ''|*[!0-9]*) pid= ;; esac
        if [ "$waited" = 1 ] && [ -n "$pid" ] && ours "$pid"; then
            echo "restart-tincd: a restart ran meanwhile; tincd $pid is up" >&2
            exit 0
        fi
        exec 9>>\(shellQuote("\(node.runDir)/tincd.signal.lock"))
        flock -w 15 9 || { echo "restart-tincd: the tinc signal lock is busy" >&2; exit 1; }
        if [ -n "$pid" ] && ours "$pid"; then
            kill -TERM "$pid"
            i=0
            while alive "$pid"; do
                i=$((i + 1))
                if [ "$i" -eq 100 ]; then kill -KILL "$pid"; fi
                if [ "$i" -ge 150 ]; then echo "restart-tincd: tincd $pid does not exit" >&2; exit 1; fi
                sleep 0.1
            done
        fi
        rm -f "$pidfile"
        if [ -e \(shellQuote(node.restartHold(.tincd))) ]; then
            echo "restart-tincd: the lab holds tincd down (\(node.restartHold(.tincd)) is present)" >&2
            exit 1
        fi
        # The lab's stand-in for a tincd that refuses a new key: with this file present, one restart
        # stops tincd and fails without starting it (the file is removed), as a tincd that exits at
        # start would. The rotation's rollback then restarts with the old key.
        if [ -e \(shellQuote(node.tincdRestartFailOnce)) ]; then
            rm -f \(shellQuote(node.tincdRestartFailOnce))
            echo "restart-tincd: failing once on purpose (\(node.tincdRestartFailOnce) was present)" >&2
            exit 1
        fi
        start=$(stat -c %s "$log" 2>/dev/null || echo 0)
        ip netns exec \(shellQuote(node.namespace)) setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \\
            \(argv) </dev/null >>"$errlog" 2>&1 8>&- 9>&- &
        starter=$!
        i=0
        while :; do
            sleep 0.05
            i=$((i + 1))
            new=$(cat "$pidfile" 2>/dev/null || true)
            if [ -z "$new" ] && [ "$i" -ge 20 ] && ! alive "$starter"; then
                echo "restart-tincd: could not start tincd: $(tail -n 1 "$errlog" 2>/dev/null)" >&2; exit 1
            fi
            if [ -n "$new" ] && tail -c +$((start + 1)) "$log" 2>/dev/null | grep -q ': Ready$'; then exit 0; fi
            if [ -n "$new" ] && ! alive "$new"; then
                echo "restart-tincd: tincd exited at start: $(tail -n 1 "$errlog" 2>/dev/null)" >&2; exit 1
            fi
            if [ "$i" -ge 300 ]; then echo "restart-tincd: tincd not Ready within 15 s (see $log)" >&2; exit 1; fi
        done

        """
    }

    /// BIRD's command line on a node: the lab's own start and the node's restart script
    /// (`birdRestartScript`) use this one list.
    public static func birdArguments(node: NodeSpec) -> [String] {
        ["bird", "-f", "-c", node.birdConf, "-s", node.birdSocket, "-P", node.pidfile(.bird)]
    }

    /// The node's `run/restart-bird`: what a service manager's restart does for this node's BIRD,
    /// given to the agent as `repair.bird-restart-command`. It stops the BIRD named by the pidfile
    /// only if that process is this node's BIRD (its command line holds this control socket):
    /// SIGTERM, SIGKILL after 5 s (a stopped or hung BIRD ignores SIGTERM until it runs again), starts
    /// BIRD in the node's namespace with the lab's own arguments (`birdArguments`) and exits 0 once
    /// `birdc show status` answers on the socket, or 1 with the reason on stderr. While
    /// `restartHold(.bird)` exists it stops BIRD and fails (a fault held by `pages`).
    public static func birdRestartScript(node: NodeSpec) -> String {
        let argv = birdArguments(node: node).map(shellQuote).joined(separator: " ")
        return """
        #!/bin/sh
        # Written by bgpmesh-lab: restarts \(node.name)'s BIRD as a service manager would.
        set -u
        PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
        pidfile=\(shellQuote(node.pidfile(.bird)))
        sock=\(shellQuote(node.birdSocket))
        log=\(shellQuote(node.log(.bird)))
        alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
        ours() { alive "$1" && tr '\\0' '\\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$sock"; }
        exec 8>>\(shellQuote("\(node.runDir)/bird.restart.lock"))
        flock -w 30 8 || { echo "restart-bird: another restart holds the lock for 30 s" >&2; exit 1; }
        pid=$(cat "$pidfile" 2>/dev/null || true)
        case "$pid" in ''|*[!0-9]*) pid= ;; esac
        if [ -n "$pid" ] && ours "$pid"; then
            kill -TERM "$pid"
            i=0
            while alive "$pid"; do
                i=$((i + 1))
                if [ "$i" -eq 50 ]; then kill -KILL "$pid"; fi
                if [ "$i" -ge 100 ]; then echo "restart-bird: BIRD $pid does not exit" >&2; exit 1; fi
                sleep 0.1
            done
        fi
        rm -f "$pidfile" "$sock"
        if [ -e \(shellQuote(node.restartHold(.bird))) ]; then
            echo "restart-bird: the lab holds BIRD down (\(node.restartHold(.bird)) is present)" >&2
            exit 1
        fi
        ip netns exec \(shellQuote(node.namespace)) setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \\
            \(argv) </dev/null >>"$log" 2>&1 8>&- &
        starter=$!
        i=0
        while :; do
            sleep 0.1
            i=$((i + 1))
            new=$(cat "$pidfile" 2>/dev/null || true)
            if [ -z "$new" ] && [ "$i" -ge 10 ] && ! alive "$starter"; then
                echo "restart-bird: could not start BIRD: $(tail -n 1 "$log" 2>/dev/null)" >&2; exit 1
            fi
            if [ -n "$new" ] && ! alive "$new"; then
                echo "restart-bird: BIRD exited at start: $(tail -n 1 "$log" 2>/dev/null)" >&2; exit 1
            fi
            if [ -n "$new" ] && [ -S "$sock" ] && timeout 2 birdc -s "$sock" show status >/dev/null 2>&1; then exit 0; fi
            if [ "$i" -ge 150 ]; then echo "restart-bird: BIRD does not answer on $sock within 15 s (see $log)" >&2; exit 1; fi
        done

        """
    }

    /// Single-quotes `s` for sh.
    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// bird.conf: the include of the node's peers file and the template `bgpmesh` its protocols
    /// use, never a peer. The peers come from `<node>/bird/bgpmesh-peers.conf`, which the agent
    /// writes from the registry (`bird.peers-file`), or the lab with `--keys manual`
    /// (`birdPeersConf`). IPv4 and IPv6 channels on one session per peer.
    public static func birdConf(node: NodeSpec) -> String {
        """
        # Written by bgpmesh-lab for BIRD 2.0.12.
        log "\(node.log(.bird))" all;
        router id \(node.underlay);
        # Session state changes in the log, to explain a slow convergence.
        debug protocols { states };

        protocol device { scan time 10; }
        protocol direct { ipv4; ipv6; interface "\(LabNames.tincInterface)"; }
        protocol kernel kernel4 { ipv4 { import none; export where source = RTS_BGP; }; }
        protocol kernel kernel6 { ipv6 { import none; export where source = RTS_BGP; }; }
        protocol static static4 { ipv4; route \(node.prefix4) blackhole; }
        protocol static static6 { ipv6; route \(node.prefix6) blackhole; }

        # Lab timers (BIRD defaults: connect delay 5 s, connect retry 120 s, error wait 60-300 s,
        # hold 240 s).
        template bgp \(LabNames.birdTemplate) {
          local \(node.overlay4) as \(LabNames.asn);
          direct;
          # BIRD shuts a direct session down when the interface loses its carrier (`check link`
          # is on by default for direct sessions): tinc0 has none for the moment a tincd restart
          # takes, and the TCP session rides that out (see docs/operation.md, persistent interface).
          check link no;
          connect delay time 1;
          connect retry time 5;
          error wait time 5, 30;
          hold time 30;
          keepalive time 10;
          # No `next hop self`: the node's own routes get its address anyway (they have no next
          # hop), and a route reflector must pass on the originating node's next hop, so traffic
          # still goes node to node over tinc.
          ipv4 { import all; export where source = RTS_STATIC || source = RTS_BGP; gateway direct; };
          ipv6 { import all; export where source = RTS_STATIC || source = RTS_BGP; next hop address \(node.overlay6); gateway direct; };
        }

        # The peers: one BGP protocol from template \(LabNames.birdTemplate) each.
        include "\(node.birdPeersFile)";

        """
    }

    /// The peers file the lab writes itself with `--keys manual`, in the form the agent writes
    /// (`bird.peers-file`): a comment naming the peer, then `protocol bgp bgpmesh_<peer> from
    /// bgpmesh { neighbor <overlay> as <asn>; }`, with `rr client` and the shared `rr cluster id`
    /// on a reflector's sessions to its clients. Empty peers give a file BIRD accepts.
    public static func birdPeersConf(node: NodeSpec, state: LabState) -> String {
        var s = "# Written by bgpmesh-lab (--keys manual, topology \(state.topology.rawValue)) for \(node.name).\n"
        for p in state.bgpPeers(of: node, stateDir: node.stateDir) {
            let rrClient = state.isReflector(node.index) && !state.isReflector(p.index)
            s += "# peer \(p.name)\n"
            s += "protocol bgp \(LabNames.bgpProtocolPrefix)\(p.name) from \(LabNames.birdTemplate) { neighbor \(p.overlay4) as \(LabNames.asn);"
            if rrClient { s += " rr client; rr cluster id \(LabNames.rrClusterID);" }
            s += " }\n"
        }
        return s
    }

    /// etcd 3.4 command line for a cluster member.
    public static func etcdArguments(node: NodeSpec, members: [NodeSpec]) -> [String] {
        let cluster = members.map { "\($0.name)=\($0.etcdPeerURL)" }.joined(separator: ",")
        return [
            "etcd",
            "--name", node.name,
            "--data-dir", node.etcdDataDir,
            "--listen-client-urls", node.etcdClientURL,
            "--advertise-client-urls", node.etcdClientURL,
            "--listen-peer-urls", node.etcdPeerURL,
            "--initial-advertise-peer-urls", node.etcdPeerURL,
            "--initial-cluster", cluster,
            "--initial-cluster-token", "bgpmesh-lab",
            "--initial-cluster-state", "new",
            // Above the 1.5 MiB default, so a 2 MB hostile record reaches the agents' own
            // size check (the registry test puts one).
            "--max-request-bytes", "3145728",
            "--logger", "zap",
            "--log-outputs", "stderr",
        ]
    }

    public static func etcdEndpoints(members: [NodeSpec]) -> String {
        members.map(\.etcdClientURL).joined(separator: ",")
    }

    /// The lab's prometheus.yml: the repo's `prometheus/prometheus.yml` (`template`) with the lab's
    /// targets (every agent, every etcd member, the monitoring namespace), the lab's scrape interval (5 s
    /// up to 16 nodes, `LabTimers`) and the
    /// repo's rule files by absolute path (promtool test files left out). Throws when the template
    /// lacks a section the lab fills in.
    public static func prometheusConfig(template: String, nodes: [NodeSpec], members: [NodeSpec],
                                        ruleFiles: [String], scrapeAgents: Bool,
                                        timers: LabTimers = .forNodes(1)) throws(LabError) -> String {
        var y = YAMLLines(template, source: "prometheus/prometheus.yml")
        try y.setValue(section: "global", key: "scrape_interval", "\(timers.scrapeInterval)s")
        try y.setValue(section: "global", key: "scrape_timeout", "\(timers.scrapeTimeout)s")
        try y.setValue(section: "global", key: "evaluation_interval", "\(timers.scrapeInterval)s")
        let rules = ruleFiles.filter { !$0.hasSuffix(".test.yml") }
        try y.replaceSection("rule_files", with: rules.isEmpty ? ["rule_files: []"]
                                 : ["rule_files:"] + rules.map { "  - \(yamlQuote($0))" })
        try y.replaceSection("alerting", with: [
            "alerting:",
            "  alertmanagers:",
            "    - static_configs:",
            "        - targets: ['\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)']",
        ])
        func targets(_ list: [(String, String?)]) -> [String] {
            ["    static_configs:"] + list.flatMap { t, node in
                ["      - targets: ['\(t)']"] + (node.map { ["        labels: {node: \($0)}"] } ?? [])
            }
        }
        if scrapeAgents {
            try y.replaceJobTargets("bgpmesh-agent", with: targets(nodes.map { ($0.agentListen, $0.name) }))
        } else {
            try y.removeJob("bgpmesh-agent")
        }
        try y.replaceJobTargets("etcd", with: targets(members.map { ("\($0.underlay):\(LabNames.etcdClientPort)", $0.name) }))
        try y.replaceJobTargets("alertmanager", with: targets([("\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)", nil)]))
        try y.replaceJobTargets("prometheus", with: targets([("\(LabNames.monitoringAddress):\(LabNames.prometheusPort)", nil)]))
        return "# Written by bgpmesh-lab from prometheus/prometheus.yml.\n" + y.text
    }

    /// The lab's alertmanager.yml: the repo's `prometheus/alertmanager.yml` (`template`) with one
    /// route and one webhook receiver per lab node (POST /api/v1/alerts on its agent, bearer token
    /// from `tokenFile`, and a copy to the alert sink's `/agent/<node>`) between its `# agent routes` /
    /// `# agent receivers` markers, and every other receiver that delivers anywhere (the humans')
    /// pointed at the sink's `/receiver/<name>` instead (the lab sends nothing off the machine).
    /// Routes, grouping and inhibit rules stay as the repo has them.
    public static func alertmanagerConfig(template: String, nodes: [NodeSpec], tokenFile: String,
                                          sinkURL: String = "http://\(LabNames.monitoringAddress):\(LabNames.sinkPort)") throws(LabError) -> String {
        var y = YAMLLines(template, source: "prometheus/alertmanager.yml")
        try y.replaceBetween("# agent routes", "# end of agent routes") { indent in
            nodes.flatMap { n in
                ["\(indent)- matchers: ['node=\"\(n.name)\"']", "\(indent)  receiver: agent-\(n.name)"]
            }
        }
        try y.replaceBetween("# agent receivers", "# end of agent receivers") { indent in
            nodes.flatMap { n in [
                "\(indent)- name: agent-\(n.name)",
                "\(indent)  webhook_configs:",
                "\(indent)    - url: 'http://\(n.agentListen)/api/v1/alerts'",
                "\(indent)      send_resolved: true",
                "\(indent)      max_alerts: 50",
                "\(indent)      http_config:",
                "\(indent)        authorization:",
                "\(indent)          type: Bearer",
                "\(indent)          credentials_file: \(yamlQuote(tokenFile))",
                "\(indent)    # bgpmesh-lab: the same notifications to the alert sink, which counts them",
                "\(indent)    - url: '\(sinkURL)/agent/\(n.name)'",
                "\(indent)      send_resolved: true",
                "\(indent)      max_alerts: 50",
            ] }
        }
        let agentReceivers = Set(nodes.map { "agent-\($0.name)" })
        let rewritten = try y.rewriteReceivers { name, indent in
            guard !agentReceivers.contains(name) else { return nil }
            var unreserved = CharacterSet.alphanumerics
            unreserved.insert(charactersIn: "-._~")
            let path = name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? name
            return [
                "\(indent)- name: \(yamlQuote(name))  # bgpmesh-lab: delivered to the alert sink, which counts the pages",
                "\(indent)  webhook_configs:",
                "\(indent)    - url: '\(sinkURL)/receiver/\(path)'",
                "\(indent)      send_resolved: true",
            ]
        }
        guard !rewritten.isEmpty else { throw y.missing("a receiver besides the agents' that delivers anywhere (the humans')") }
        return "# Written by bgpmesh-lab from prometheus/alertmanager.yml.\n" + y.text
    }

    public static func prometheusArguments(_ mon: MonitoringSpec) -> [String] {
        [
            "prometheus",
            "--config.file=\(mon.prometheusConfig)",
            "--storage.tsdb.path=\(mon.prometheusData)",
            "--storage.tsdb.retention.time=6h",
            "--web.listen-address=\(LabNames.monitoringAddress):\(LabNames.prometheusPort)",
            "--web.enable-lifecycle",
        ]
    }

    public static func alertmanagerArguments(_ mon: MonitoringSpec) -> [String] {
        [
            "prometheus-alertmanager",
            "--config.file=\(mon.alertmanagerConfig)",
            "--storage.path=\(mon.alertmanagerData)",
            "--web.listen-address=\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)",
            "--cluster.listen-address=",
        ]
    }

    static func yamlQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// Line-level edits of the repo's Prometheus and Alertmanager YAML (two-space indentation, block
/// style), so the lab runs those files with only its targets changed and their comments kept.
struct YAMLLines {
    var lines: [String]
    let source: String

    init(_ text: String, source: String) {
        lines = text.components(separatedBy: "\n")
        self.source = source
    }

    var text: String { lines.joined(separator: "\n") }

    static func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
    static func isContent(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return !t.isEmpty && !t.hasPrefix("#")
    }

    /// End (exclusive) of the block that starts at `start`: the next content line indented at most
    /// `indent`.
    func blockEnd(after start: Int, indent: Int) -> Int {
        var i = start + 1
        while i < lines.count, !(Self.isContent(lines[i]) && Self.indent(lines[i]) <= indent) { i += 1 }
        // Comments and blank lines just before the next block belong to it.
        while i > start + 1, !Self.isContent(lines[i - 1]) { i -= 1 }
        return i
    }

    func missing(_ what: String) -> LabError {
        .io(path: source, reason: "the lab cannot find \(what) in it")
    }

    func topLevel(_ key: String) -> Int? {
        lines.firstIndex { Self.indent($0) == 0 && ($0 == "\(key):" || $0.hasPrefix("\(key): ") || $0.hasPrefix("\(key):\t")) }
    }

    mutating func setValue(section: String, key: String, _ value: String) throws(LabError) {
        guard let s = topLevel(section) else { throw missing("top-level `\(section):`") }
        let end = blockEnd(after: s, indent: 0)
        guard let i = (s + 1..<end).first(where: { Self.indent(lines[$0]) == 2 && lines[$0].dropFirst(2).hasPrefix("\(key):") }) else {
            throw missing("`\(section).\(key)`")
        }
        lines[i] = "  \(key): \(value)"
    }

    mutating func replaceSection(_ key: String, with new: [String]) throws(LabError) {
        guard let s = topLevel(key) else { throw missing("top-level `\(key):`") }
        lines.replaceSubrange(s..<blockEnd(after: s, indent: 0), with: new)
    }

    /// The lines of `- job_name: <job>` under scrape_configs.
    func job(_ job: String) throws(LabError) -> Range<Int> {
        guard let s = lines.firstIndex(where: {
            Self.indent($0) == 2 && $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "'", with: "") == "- job_name: \(job)"
        }) else { throw missing("scrape job `\(job)`") }
        return s..<blockEnd(after: s, indent: 2)
    }

    mutating func removeJob(_ name: String) throws(LabError) {
        lines.removeSubrange(try job(name))
    }

    mutating func replaceJobTargets(_ name: String, with new: [String]) throws(LabError) {
        let r = try job(name)
        guard let s = r.first(where: { Self.indent(lines[$0]) == 4 && lines[$0].dropFirst(4).hasPrefix("static_configs:") }) else {
            throw missing("`static_configs` of scrape job `\(name)`")
        }
        lines.replaceSubrange(s..<min(blockEnd(after: s, indent: 4), r.upperBound), with: new)
    }

    /// Replaces every item of the top-level `receivers:` list that has some `*_configs:` (one that
    /// delivers anywhere) with `make(name, indent)`, unless that returns nil; receivers without
    /// configs (a blackhole) stay. Returns the names it replaced.
    mutating func rewriteReceivers(_ make: (String, String) -> [String]?) throws(LabError) -> [String] {
        guard let s = topLevel("receivers") else { throw missing("top-level `receivers:`") }
        let end = blockEnd(after: s, indent: 0)
        let starts = (s + 1..<end).filter {
            Self.isContent(lines[$0]) && lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("- ")
                && Self.indent(lines[$0]) == Self.indent(lines[(s + 1..<end).first { Self.isContent(lines[$0]) }!])
        }
        var done: [String] = []
        // From the last item up, so earlier indices stay valid.
        for (k, b) in starts.enumerated().reversed() {
            var e = k + 1 < starts.count ? starts[k + 1] : end
            while e > b + 1, !Self.isContent(lines[e - 1]) { e -= 1 }
            let item = lines[b..<e]
            let first = item.first!.trimmingCharacters(in: .whitespaces).dropFirst(2).trimmingCharacters(in: .whitespaces)
            let nameLine = first.hasPrefix("name:") ? first : item.dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("name:") } ?? ""
            var name = nameLine.dropFirst("name:".count).split(separator: "#", maxSplits: 1).first
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if name.count >= 2, let q = name.first, q == "'" || q == "\"", name.last == q { name = String(name.dropFirst().dropLast()) }
            guard !name.isEmpty else { throw missing("the name of the receiver at line \(b + 1)") }
            let delivers = item.contains { l in
                let t = l.trimmingCharacters(in: .whitespaces)
                return Self.isContent(l) && (t.hasPrefix("- ") ? String(t.dropFirst(2)) : t).range(of: #"^[a-z_]+_configs:"#, options: .regularExpression) != nil
            }
            guard delivers, let new = make(name, String(repeating: " ", count: Self.indent(lines[b]))) else { continue }
            lines.replaceSubrange(b..<e, with: new)
            done.append(name)
        }
        return done.reversed()
    }

    /// Replaces the lines between the comment lines that start with `begin` and `end`; `make` gets
    /// the begin marker's indentation.
    mutating func replaceBetween(_ begin: String, _ end: String, _ make: (String) -> [String]) throws(LabError) {
        guard let b = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(begin) }),
              let e = lines[(b + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(end) }) else {
            throw missing("the `\(begin)` ... `\(end)` markers")
        }
        lines.replaceSubrange(b + 1..<e, with: make(String(repeating: " ", count: Self.indent(lines[b]))))
    }
}
