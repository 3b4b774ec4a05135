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

        # Lab timers (BIRD defaults: connect retry 120 s, error wait 60-300 s, hold 240 s).
        template bgp mesh {
          local \(node.overlay4) as \(LabNames.asn);
          direct;
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

    /// prometheus.yml: every agent and every etcd member, plus the repo's rule files when present.
    public static func prometheusConfig(nodes: [NodeSpec], members: [NodeSpec], ruleFiles: [String],
                                        scrapeAgents: Bool) -> String {
        var s = """
        # Written by bgpmesh-lab.
        global:
          scrape_interval: 5s
          scrape_timeout: 4s
          evaluation_interval: 5s
          external_labels:
            lab: bgpmesh-lab

        """
        if !ruleFiles.isEmpty {
            s += "rule_files:\n"
            for f in ruleFiles { s += "  - \(yamlQuote(f))\n" }
        }
        s += """
        alerting:
          alertmanagers:
            - static_configs:
                - targets: ['\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)']
        scrape_configs:

        """
        if scrapeAgents {
            s += "  - job_name: bgpmesh-agent\n    static_configs:\n"
            for n in nodes {
                s += "      - targets: ['\(n.agentListen)']\n        labels: {node: \(n.name)}\n"
            }
        }
        s += "  - job_name: etcd\n    static_configs:\n"
        for m in members {
            s += "      - targets: ['\(m.underlay):\(LabNames.etcdClientPort)']\n        labels: {node: \(m.name)}\n"
        }
        s += """
          - job_name: prometheus
            static_configs:
              - targets: ['\(LabNames.monitoringAddress):\(LabNames.prometheusPort)']
          - job_name: alertmanager
            static_configs:
              - targets: ['\(LabNames.monitoringAddress):\(LabNames.alertmanagerPort)']

        """
        return s
    }

    /// alertmanager.yml: every alert goes to the agents' webhook (POST /api/v1/alerts, bearer token).
    public static func alertmanagerConfig(nodes: [NodeSpec], tokenFile: String) -> String {
        var s = """
        # Written by bgpmesh-lab.
        route:
          receiver: bgpmesh-agents
          group_by: [alertname, node]
          group_wait: 5s
          group_interval: 30s
          repeat_interval: 1h
        receivers:
          - name: bgpmesh-agents
            webhook_configs:

        """
        for n in nodes {
            s += """
                  - url: 'http://\(n.agentListen)/api/v1/alerts'
                    send_resolved: true
                    http_config:
                      authorization:
                        type: Bearer
                        credentials_file: \(yamlQuote(tokenFile))

            """
        }
        return s
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
