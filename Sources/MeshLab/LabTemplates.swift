import Foundation

/// Configuration files and command lines of the lab's daemons. Pure functions, tested without root.
public enum LabTemplates {
    /// tinc.conf. With manual keys it lists a ConnectTo line for every peer.
    public static func tincConf(node: NodeSpec, connectTo peers: [NodeSpec]) -> String {
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
        PingInterval = 1
        PingTimeout = 1

        """
        for p in peers where p.index != node.index { s += "ConnectTo = \(p.name)\n" }
        return s
    }

    /// hosts/<name> without the key; `tincd -K` appends the public key.
    public static func tincHost(node: NodeSpec) -> String {
        "Address = \(node.underlay)\nPort = \(LabNames.tincPort)\n"
    }

    public static func tincUp(node: NodeSpec) -> String {
        """
        #!/bin/sh
        # nodad: the overlay IPv6 address must be usable before BIRD starts.
        ip link set dev "$INTERFACE" mtu 1400 up
        ip addr add \(node.overlay4)/24 dev "$INTERFACE"
        ip -6 addr add \(node.overlay6)/64 dev "$INTERFACE" nodad

        """
    }

    public static let tincDown = """
        #!/bin/sh
        ip link set dev "$INTERFACE" down

        """

    /// bird.conf: iBGP full mesh over the overlay, IPv4 and IPv6 channels on one session per peer.
    public static func birdConf(node: NodeSpec, peers: [NodeSpec]) -> String {
        var s = """
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
        template bgp mesh {
          local \(node.overlay4) as \(LabNames.asn);
          direct;
          connect delay time 1;
          connect retry time 5;
          error wait time 5, 30;
          hold time 30;
          keepalive time 10;
          ipv4 { import all; export where source = RTS_STATIC; next hop self; gateway direct; };
          ipv6 { import all; export where source = RTS_STATIC; next hop self; next hop address \(node.overlay6); gateway direct; };
        }

        """
        for p in peers where p.index != node.index {
            s += "protocol bgp \(p.name) from mesh { neighbor \(p.overlay4) as \(LabNames.asn); }\n"
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
    /// targets (every agent, every etcd member, the monitoring namespace), 5 s intervals and the
    /// repo's rule files by absolute path (promtool test files left out). Throws when the template
    /// lacks a section the lab fills in.
    public static func prometheusConfig(template: String, nodes: [NodeSpec], members: [NodeSpec],
                                        ruleFiles: [String], scrapeAgents: Bool) throws(LabError) -> String {
        var y = YAMLLines(template, source: "prometheus/prometheus.yml")
        try y.setValue(section: "global", key: "scrape_interval", "5s")
        try y.setValue(section: "global", key: "scrape_timeout", "4s")
        try y.setValue(section: "global", key: "evaluation_interval", "5s")
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
    /// from `tokenFile`) between its `# agent routes` / `# agent receivers` markers, and the human
    /// receiver emptied (the lab sends nothing off the machine).
    public static func alertmanagerConfig(template: String, nodes: [NodeSpec], tokenFile: String) throws(LabError) -> String {
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
            ] }
        }
        try y.replaceBetween("# humans receiver", "# end of humans receiver") { indent in
            ["\(indent)- name: humans  # the lab delivers nowhere: see Alertmanager's UI on 127.0.0.1:\(LabNames.hostAlertmanagerPort)"]
        }
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
