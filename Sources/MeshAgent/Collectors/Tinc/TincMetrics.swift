import Exposition
import TincControl

/// Turns a `TincCollectorSnapshot` into `tinc_*` families. Pure.
public enum TincMetrics {
    public static func families(_ s: TincCollectorSnapshot, dumpErrors: UInt64) -> [MetricFamily] {
        var out: [MetricFamily] = [
            .gauge("tinc_up", help: "Whether tincd is running (its pidfile names a live tincd).", [Metric([], s.running ? 1 : 0)]),
            .counter("tinc_dump_errors_total", help: "Failed or incomplete tincd dumps.", [Metric([], Double(dumpErrors))]),
        ]
        let version = s.dump?.dialect.rawValue ?? ""
        if let config = s.config {
            out.append(.info("tinc_info", help: "tincd's name and mode from tinc.conf, and the dump dialect.",
                             [[Label("name", config.name ?? ""), Label("mode", config.mode ?? "router"), Label("version", version)]]))
            out.append(.gauge("tinc_connectto_configured", help: "A ConnectTo line for this peer (tinc.conf and conf.d/*.conf).",
                              Set(config.connectTo).sorted().map { Metric([Label("peer", $0)], 1) }))
        }
        var keyValid: [Metric] = [], keyInfo: [[Label]] = []
        for (name, file) in s.hosts {
            let valid = file?.publicKey != nil
            keyValid.append(Metric([Label("peer", name)], valid ? 1 : 0))
            if let key = file?.publicKey { keyInfo.append([Label("fingerprint", key.fingerprintSHA256), Label("peer", name)]) }
        }
        // `peer`, not `node`: the observer's target label is `node` (docs/metrics.md).
        out.append(.gauge("tinc_host_key_valid", help: "Whether hosts/<peer> holds a valid RSA public key.", keyValid))
        out.append(.info("tinc_host_key_info", help: "SHA-256 fingerprint of the node's key (of its DER SubjectPublicKeyInfo).", keyInfo))
        if let age = s.dumpAge {
            out.append(.gauge("tinc_dump_age_seconds", help: "Age of the last node/edge/connection dump served.", [Metric([], age)]))
        }
        if let took = s.dumpDuration {
            out.append(.gauge("tinc_dump_duration_seconds", help: "Time the last fresh dump took, from signal to its last log line.",
                              [Metric([], took)]))
        }
        if let dump = s.dump { out += graph(dump) }
        if let i = s.interface { out += interface(i) }
        return out
    }

    static func graph(_ d: TincDump) -> [MetricFamily] {
        var reachable: [Metric] = [], indirect: [Metric] = [], pmtu: [Metric] = [], udp: [Metric] = [], rtt: [Metric] = []
        var via: [[Label]] = []
        var traffic: [String: [Metric]] = [:]
        for n in d.nodes where !n.isMyself {
            let l = [Label("peer", n.name)]
            reachable.append(Metric(l, n.isReachable ? 1 : 0))
            guard n.isReachable else { continue }
            indirect.append(Metric(l, n.isRelayed ? 1 : 0))
            via.append([Label("nexthop", n.nexthop ?? ""), Label("peer", n.name), Label("via", n.via ?? "")])
            if n.pmtu > 0 { pmtu.append(Metric(l, Double(n.pmtu))) }
            if d.dialect != .tinc10 { udp.append(Metric(l, n.status.contains(.udpConfirmed) ? 1 : 0)) }
            if let r = n.udpPingRTTMicroseconds, r >= 0 { rtt.append(Metric(l, Double(r) / 1e6)) }
            if let t = n.traffic {
                traffic["receive_packets", default: []].append(Metric(l, Double(t.inPackets)))
                traffic["receive_bytes", default: []].append(Metric(l, Double(t.inBytes)))
                traffic["transmit_packets", default: []].append(Metric(l, Double(t.outPackets)))
                traffic["transmit_bytes", default: []].append(Metric(l, Double(t.outBytes)))
            }
        }
        let connections = d.connections.filter { $0.isIdentified && !$0.isControl }
        var out: [MetricFamily] = [
            .gauge("tinc_node_reachable", help: "Whether tincd can reach the node (directly or through others).", reachable),
            .gauge("tinc_node_indirect", help: "Whether traffic to a reachable node is relayed (its nexthop or via is another node).", indirect),
            .info("tinc_node_route_info", help: "The nexthop and via of a reachable node.", via),
            .gauge("tinc_node_pmtu_bytes", help: "Path MTU to the node.", pmtu),
            .gauge("tinc_node_udp_confirmed", help: "Whether UDP to the node is confirmed (tinc 1.1).", udp),
            .gauge("tinc_node_rtt_seconds", help: "UDP ping round-trip time to the node (tinc 1.1pre17+).", rtt),
            .gauge("tinc_edges", help: "Edges in tincd's graph of the mesh.", [Metric([], Double(d.edges.count))]),
            .gauge("tinc_edge_weight", help: "Weight of the edge (tinc's estimate of its latency).",
                   d.edges.map { Metric([Label("from", $0.from), Label("to", $0.to)], Double($0.weight)) }),
            .gauge("tinc_connection_up", help: "An identified meta connection to the peer.",
                   connections.map { Metric([Label("peer", $0.name)], 1) }),
            .gauge("tinc_connections_unidentified", help: "Meta connections not (yet) identified.",
                   [Metric([], Double(d.connections.filter { !$0.isIdentified }.count))]),
        ]
        for (name, metrics) in traffic.sorted(by: { $0.key < $1.key }) {
            out.append(.counter("tinc_node_\(name)_total", help: "Traffic with the node (tinc 1.1).", metrics))
        }
        return out
    }

    static func interface(_ i: TincInterfaceStatistics) -> [MetricFamily] {
        let l = [Label("interface", i.interface)]
        var out: [MetricFamily] = [
            .gauge("tinc_interface_up", help: "Whether the tinc interface's operstate is up (or unknown, as tun devices report).",
                   [Metric(l, i.operState == "up" || i.operState == "unknown" ? 1 : 0)]),
        ]
        if let mtu = i.mtu { out.append(.gauge("tinc_interface_mtu_bytes", help: "MTU of the tinc interface.", [Metric(l, Double(mtu))])) }
        for (name, value) in [("receive_bytes", i.rxBytes), ("transmit_bytes", i.txBytes), ("receive_packets", i.rxPackets),
                              ("transmit_packets", i.txPackets), ("receive_errors", i.rxErrors), ("transmit_errors", i.txErrors),
                              ("receive_dropped", i.rxDropped), ("transmit_dropped", i.txDropped)] {
            if let value {
                out.append(.counter("tinc_interface_\(name)_total", help: "Interface statistics from /sys/class/net.", [Metric(l, Double(value))]))
            }
        }
        return out
    }
}
