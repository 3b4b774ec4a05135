import Exposition

/// The family set behind the golden files: every type, escaping, number forms,
/// unsorted input, a merge and an empty family. Names are realistic so that
/// `promtool check metrics` has nothing to say about the text 0.0.4 output.
enum GoldenFamilies {
    static let sessionStates = ["idle", "connect", "active", "opensent", "openconfirm", "established"]

    static var all: [MetricFamily] {
        [
            // Two collectors contribute to one counter family: merged, then sorted.
            .counter("bgpmesh_repairs_total", help: "Repair actions carried out, by action and result.", [
                Metric([Label("action", "reconnect"), Label("result", "ok")], 3),
                Metric([Label("action", "hup"), Label("result", "ok")], 12),
            ]),
            .gauge("bird_memory_bytes", help: "Memory used by BIRD, by kind.", [
                Metric([Label("kind", "routing_tables")], 16_658_423_808),
                Metric([Label("kind", "total")], 1e21),
                Metric([Label("kind", "attributes")], 1_234_567.5),
                Metric([Label("kind", "protocols")], 9_007_199_254_740_992),
            ]),
            .histogram("bgpmesh_peer_probe_rtt_seconds", help: "Round-trip time of mesh probes.", [
                Metric([Label("peer", "node3")], histogram: HistogramValue(
                    buckets: [(0.001, 0), (0.005, 2), (0.01, 7), (0.1, 9), (1, 10), (10, 10)], count: 11, sum: 12.75)),
                Metric([Label("peer", "node2")], histogram: HistogramValue(
                    buckets: [(0.001, 1), (0.005, 4), (0.01, 4), (0.1, 5), (1, 5), (10, 5)], count: 5, sum: 0.0123)),
            ]),
            .info("bgpmesh_build_info", help: "Build information; the value is always 1.", [
                [Label("version", "0.1.0"), Label("revision", "014688c"), Label("swift_version", "6.3.1")],
            ]),
            .stateSet("bird_bgp_session_state", help: "BGP session state, one series per state.",
                      entries: [
                          (labels: [Label("protocol", "mesh_node3")], current: "active"),
                          (labels: [Label("protocol", "mesh_node2")], current: "established"),
                          (labels: [Label("protocol", "mesh_node4")], current: nil),
                      ],
                      states: sessionStates),
            .gauge("bgpmesh_config_file_valid", help: "Whether a configuration file parsed.\nPaths are \"quoted\" C:\\like\\this.", [
                Metric([Label("path", "/etc/tinc/mesh/conf.d/bgpmesh.conf")], 1),
                Metric([Label("path", "C:\\tinc\\hosts")], 0),
                Metric([Label("path", "say \"hi\"")], 1),
                Metric([Label("path", "two\nlines")], 0),
                Metric([Label("path", "/srv/nœud-ü/東京")], 1),
            ]),
            .gauge("bgpmesh_peer_loss_ratio", help: "Probe loss ratio per peer.", [
                Metric([Label("peer", "node4")], .nan),
                Metric([Label("peer", "node2")], 0),
                Metric([Label("peer", "node3")], 0.25),
                Metric([Label("peer", "node5")], 1.5e-05),
                Metric([Label("peer", "node6")], 0.000123),
            ]),
            .gauge("bgpmesh_peer_clock_offset_seconds", help: "Clock offset of a peer relative to this node.", [
                Metric([Label("peer", "node2")], -0.0),
                Metric([Label("peer", "node3")], -2.5),
                Metric([Label("peer", "node4")], -.infinity),
                Metric([Label("peer", "node5")], .infinity),
            ]),
            // No metrics: skipped entirely, as client_golang does.
            .gauge("tinc_edges", help: "Edges in the tinc graph.", []),
            MetricFamily(name: "bgpmesh_legacy_probe_value", help: "A value of unknown type.", type: .unknown, metrics: [
                Metric(42),
            ]),
            .histogram("bgpmesh_etcd_response_size_bytes", help: "Size of etcd responses.", [
                Metric(histogram: HistogramValue(
                    buckets: [(100, 1), (1000, 4), (10000, 6), (100_000, 6), (1_000_000, 7)], count: 7, sum: 1_203_456)),
            ]),
            .counter("bgpmesh_repairs_total", help: "", [
                Metric([Label("result", "failed"), Label("action", "hup")], 1),
            ]),
            .counter("tinc_interface_received_bytes_total", help: "Bytes received on the tinc interface.", [
                Metric(123_456_789),
            ]),
        ]
    }
}
