import BIRDControl
import Exposition
import Foundation
import TestSupport
import XCTest
@testable import MeshAgent

/// The BIRD collector's families, built from replies captured from BIRD 2.0.12
/// (Fixtures/bird, captured with scripts/capture-bird.py from the config in
/// Tests/BIRDControlTests/Fixtures/capture-node-a.bird.conf).
final class BIRDMetricsTests: XCTestCase {
    func testDaemon() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        XCTAssertEqual(Families.value(f, "bird_up"), 1)
        XCTAssertEqual(Families.value(f, "bird_info", ["router_id": "192.0.2.201", "version": "2.0.12"]), 1)
        XCTAssertEqual(Families.value(f, "bird_daemon_state", ["state": "up"]), 1)
        XCTAssertEqual(Families.value(f, "bird_daemon_state", ["state": "shutdown"]), 0)
        XCTAssertEqual(Families.value(f, "bird_daemon_state", ["state": "reconfiguring"]), 0)
        // Last reboot 2026-11-30 08:03:59.779 UTC, last reconfiguration 08:04:31.529.
        XCTAssertEqual(Families.value(f, "bird_start_time_seconds")!, 1_796_025_839.779, accuracy: 0.0005)
        XCTAssertEqual(Families.value(f, "bird_reconfiguration_timestamp_seconds")!, 1_796_025_871.529, accuracy: 0.0005)
    }

    func testProtocolStateIsOneSeriesPerState() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        let dead = Families.samples(f, "bird_proto_state", where: ["name": "dead_peer"])
        XCTAssertEqual(dead.count, 5, "every state always has a series, so a flap starts none")
        XCTAssertEqual(Families.value(f, "bird_proto_state", ["name": "dead_peer", "proto": "BGP", "state": "start"]), 1)
        XCTAssertEqual(Families.value(f, "bird_proto_state", ["name": "dead_peer", "proto": "BGP", "state": "up"]), 0)
        XCTAssertEqual(Families.value(f, "bird_proto_up", ["name": "peer_b", "proto": "BGP"]), 1)
        XCTAssertEqual(Families.value(f, "bird_proto_up", ["name": "disabled_peer", "proto": "BGP"]), 0)
        let bgp = Families.samples(f, "bird_bgp_session_state", where: ["name": "peer_b"])
        XCTAssertEqual(bgp.count, 9)
        XCTAssertEqual(bgp.filter { $0.value == .value(1) }.map(\.labels), [[Label("name", "peer_b"), Label("peer", ""), Label("state", "Established")]])
        XCTAssertEqual(Families.value(f, "bird_bgp_session_state", ["name": "passive_peer", "state": "Passive"]), 1)
        XCTAssertEqual(Families.value(f, "bird_proto_info", ["name": "peer_b", "proto": "BGP", "table": "",
                                                          "description": "iBGP to node b over the veth"]), 1)
    }

    func testUptimeUnderTheDefaultTimeFormat() throws {
        // bird_exporter reports 0 here (its fixture says so); BIRD's default `HH:MM:SS.mmm` must parse.
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        // peer_b up since 08:04:58.087, server time 08:16:57.551
        XCTAssertEqual(Families.value(f, "bird_proto_uptime_seconds", ["name": "peer_b", "proto": "BGP"])!, 719.464, accuracy: 0.0005)
        XCTAssertNil(Families.value(f, "bird_proto_uptime_seconds", ["name": "dead_peer", "proto": "BGP"]), "only up protocols have an uptime")
        XCTAssertEqual(Families.value(f, "bird_proto_state_change_timestamp_seconds", ["name": "dead_peer", "proto": "BGP"])!,
                       1_796_025_839.779, accuracy: 0.0005)
    }

    func testUnparseableTimeMakesUptimeAbsentNotZero() throws {
        var s = try Fixture.birdSnapshot()
        s.protocols!.protocols[0].since = nil
        let p = s.protocols!.protocols[0]
        let f = BIRDMetrics.families(s)
        XCTAssertNil(Families.value(f, "bird_proto_uptime_seconds", ["name": p.name, "proto": p.proto]))
        XCTAssertEqual(Families.value(f, "bird_proto_up", ["name": p.name, "proto": p.proto]), 1)
    }

    func testChannelsKeepTheirOwnNames() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        let ipv4 = ["name": "peer_b", "proto": "BGP", "channel": "ipv4", "table": "master4"]
        func with(_ base: [String: String], _ extra: [String: String]) -> [String: String] { base.merging(extra) { a, _ in a } }
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(ipv4, ["kind": "imported"])), 4)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(ipv4, ["kind": "filtered"])), 0)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(ipv4, ["kind": "exported"])), 3)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(ipv4, ["kind": "preferred"])), 3)
        XCTAssertEqual(Families.value(f, "bird_channel_state", with(ipv4, ["state": "UP"])), 1)
        XCTAssertEqual(Families.value(f, "bird_channel_limit", with(ipv4, ["limit": "receive", "action": "disable"])), 2000)
        XCTAssertEqual(Families.value(f, "bird_channel_limit", with(ipv4, ["limit": "export", "action": "block"])), 500)
        XCTAssertEqual(Families.value(f, "bird_channel_filter_info", with(ipv4, ["import_filter": "ACCEPT", "export_filter": "ACCEPT"])), 1)
        // No `filtered` in the Routes line without `import keep filtered`: no series, not a zero.
        XCTAssertNil(Families.value(f, "bird_channel_routes", ["name": "peer_b", "proto": "BGP", "channel": "ipv6", "table": "master6", "kind": "filtered"]))
        // The vpn4-mpls channel is its own series, not folded into ipv4 or ipv6.
        let vpn = ["name": "peer_b_v6", "proto": "BGP", "channel": "vpn4-mpls", "table": "v4"]
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(vpn, ["kind": "exported"])), 1)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", with(vpn, ["kind": "imported"])), 0)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", ["name": "peer_b_v6", "proto": "BGP", "channel": "ipv6", "table": "master6", "kind": "imported"]), 3)
        XCTAssertFalse(Families.samples(f, "bird_channel_routes", where: ["name": "roas", "channel": "roa4"]).isEmpty)
        XCTAssertFalse(Families.samples(f, "bird_channel_routes", where: ["name": "flows", "channel": "flow4"]).isEmpty)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", ["name": "p_extra", "proto": "Pipe", "channel": "main", "table": "master4", "kind": "exported"]), 8)
    }

    func testRouteChangeStatsSkipNotApplicable() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        let base = ["name": "peer_b", "proto": "BGP", "channel": "ipv4", "table": "master4"]
        func row(_ d: String, _ k: String, _ r: String) -> Double? {
            Families.value(f, "bird_channel_route_changes_total", base.merging(["direction": d, "kind": k, "result": r]) { a, _ in a })
        }
        XCTAssertEqual(row("import", "update", "received"), 4)
        XCTAssertEqual(row("export", "update", "received"), 6)
        XCTAssertEqual(row("export", "update", "rejected"), 3)
        XCTAssertEqual(row("import", "withdraw", "rejected"), 0)
        // `---` in the table: not applicable, so no series at all.
        XCTAssertNil(row("import", "withdraw", "filtered"))
        XCTAssertNil(row("export", "update", "ignored"))
        XCTAssertNil(row("export", "withdraw", "ignored"))
    }

    func testBGPSessionDetails() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        XCTAssertEqual(Families.value(f, "bird_bgp_session_established", ["name": "peer_b"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bgp_session_established", ["name": "dead_peer"]), 0)
        XCTAssertEqual(Families.value(f, "bird_bgp_session_info", ["name": "peer_b", "neighbor_address": "192.0.2.202", "neighbor_as": "65000",
                                                               "local_as": "65000", "neighbor_id": "192.0.2.202"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bgp_hold_time_seconds", ["name": "peer_b"]), 90)
        XCTAssertEqual(Families.value(f, "bird_bgp_keepalive_time_seconds", ["name": "peer_b"]), 30)
        XCTAssertEqual(Families.value(f, "bird_bgp_timer_remaining_seconds", ["name": "peer_b", "timer": "hold"])!, 61.528, accuracy: 1e-9)
        XCTAssertEqual(Families.value(f, "bird_bgp_last_error_info", ["name": "dead_peer", "error": "Socket: No route to host"]), 1)
        XCTAssertNil(Families.value(f, "bird_bgp_hold_time_seconds", ["name": "dead_peer"]), "no hold timer before Established")
    }

    func testPerPeerSeriesNameThePeer() throws {
        var s = try Fixture.birdSnapshot()
        // One of the agent's own protocols (`bgpmesh_<peer>`), as bird.peers-file names them.
        let index = s.protocols!.protocols.firstIndex { $0.name == "dead_peer" }!
        s.protocols!.protocols[index].name = "bgpmesh_node3"
        // peer_b's neighbor (and the BFD session's address) is a registry node's overlay address.
        let f = BIRDMetrics.families(s, peers: BIRDPeerNames(overlay: ["192.0.2.202": "node2"]))
        XCTAssertEqual(Families.value(f, "bird_bgp_session_established", ["name": "peer_b", "peer": "node2"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bgp_session_established", ["name": "bgpmesh_node3", "peer": "node3"]), 0)
        XCTAssertEqual(Families.value(f, "bird_bgp_session_state", ["name": "bgpmesh_node3", "peer": "node3", "state": "Connect"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bgp_last_error_info", ["name": "bgpmesh_node3", "peer": "node3",
                                                                  "error": "Socket: No route to host"]), 1)
        XCTAssertEqual(Families.value(f, "bird_proto_up", ["name": "peer_b", "peer": "node2", "proto": "BGP"]), 1)
        XCTAssertEqual(Families.value(f, "bird_channel_routes", ["name": "peer_b", "peer": "node2", "proto": "BGP", "channel": "ipv4",
                                                             "table": "master4", "kind": "imported"]), 4)
        XCTAssertEqual(Families.value(f, "bird_bgp_session_info", ["name": "peer_b", "neighbor_address": "192.0.2.202", "neighbor_as": "65000",
                                                               "local_as": "65000", "neighbor_id": "192.0.2.202", "peer": "node2"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bfd_up", ["protocol": "bfd1", "address": "192.0.2.202", "interface": "", "peer": "node2"]), 1)
        XCTAssertEqual(Families.value(f, "bird_bfd_state", ["protocol": "bfd1", "address": "192.0.2.202", "interface": "cap-a", "peer": "node2",
                                                        "state": "Down"]), 1)
        // A protocol that is no mesh peer's has none.
        XCTAssertEqual(Families.samples(f, "bird_bgp_session_established", where: ["name": "passive_peer"]).map { $0.labels },
                       [[Label("name", "passive_peer"), Label("peer", "")]])
        XCTAssertEqual(try Promtool.check(ExpositionEncoder.encode(f, format: .text004)).status, 0)
    }

    func testTablesMemoryAndBFD() throws {
        let f = BIRDMetrics.families(try Fixture.birdSnapshot())
        XCTAssertEqual(Families.value(f, "bird_table_routes", ["table": "extra4"]), 8)
        XCTAssertEqual(Families.value(f, "bird_table_networks", ["table": "master4"]), 6)
        XCTAssertEqual(Families.value(f, "bird_table_routes", ["table": "v4"]), 1)
        XCTAssertNotNil(Families.value(f, "bird_memory_bytes", ["kind": "total", "type": "effective"]))
        XCTAssertNotNil(Families.value(f, "bird_memory_bytes", ["kind": "routing_tables", "type": "overhead"]))
        let bfd = ["protocol": "bfd1", "address": "192.0.2.202"]
        XCTAssertEqual(Families.value(f, "bird_bfd_up", bfd.merging(["interface": ""]) { a, _ in a }), 1)
        XCTAssertEqual(Families.value(f, "bird_bfd_up", bfd.merging(["interface": "cap-a"]) { a, _ in a }), 0)
        XCTAssertEqual(Families.value(f, "bird_bfd_interval_seconds", bfd.merging(["interface": ""]) { a, _ in a }), 0.1)
        XCTAssertEqual(Families.value(f, "bird_bfd_timeout_seconds", bfd.merging(["interface": ""]) { a, _ in a }), 0.5)
    }

    func testDeadBIRDIsUpZeroAndNothingElse() {
        let families = BIRDMetrics.families(BIRDSnapshot())
        XCTAssertEqual(Families.lines(families), ["bird_up 0"])
    }

    func testPromtoolIsSilentOnNativeAndCompatOutput() throws {
        let s = try Fixture.birdSnapshot()
        let bytes = ExpositionEncoder.encode(BIRDMetrics.families(s) + BIRDCompatMetrics.families(s), format: .text004)
        let check = try Promtool.check(bytes)
        XCTAssertFalse(check.output.isEmpty, "promtool does grumble about bird_exporter's `_count` gauges")
        // bird_exporter's own names are not ours to fix; promtool only grumbles about them.
        let complaints = check.output.split(separator: "\n").filter { !$0.hasPrefix("bird_protocol_") && !$0.hasPrefix("bird_ospf_") }
        XCTAssertEqual(complaints, [], check.output)
        let native = try Promtool.check(ExpositionEncoder.encode(BIRDMetrics.families(s), format: .text004))
        XCTAssertEqual(native.output, "", "our own names must be clean")
        XCTAssertEqual(native.status, 0)
    }

    /// Every series name and label set bird_exporter 1.4.1 printed for the same
    /// BIRD (captured at the same moment) exists in compat mode.
    func testCompatCoversBirdExportersSeries() throws {
        let reference = try Fixture.text("bird/bird_exporter-1.4.1-metrics.txt")
        func shapes(_ text: String) -> Set<String> {
            Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> String in
                let name = line.prefix { $0 != "{" && $0 != " " }
                let labelNames = line.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 0 }
                    .compactMap { $0.element.split(separator: "{").last?.split(separator: ",").last?.split(separator: "=").first }
                    .filter { !$0.contains(" ") }
                return name + "{" + labelNames.sorted().joined(separator: ",") + "}"
            })
        }
        let ours = shapes(String(decoding: ExpositionEncoder.encode(BIRDCompatMetrics.families(try Fixture.birdSnapshot()), format: .text004),
                                 as: UTF8.self))
        // OSPF area details need `show ospf`, which the collector does not read (README, compat section).
        let missing = shapes(reference).subtracting(ours).filter { !$0.hasPrefix("bird_ospf_interface_count") &&
            !$0.hasPrefix("bird_ospf_neighbor") }
        XCTAssertEqual(missing, [], "compat mode misses series bird_exporter has")
        let f = BIRDCompatMetrics.families(try Fixture.birdSnapshot())
        let peer = ["export_filter": "ACCEPT", "import_filter": "ACCEPT", "ip_version": "4", "name": "peer_b", "proto": "BGP"]
        XCTAssertEqual(Families.value(f, "bird_protocol_prefix_import_count", peer), 4)
        XCTAssertEqual(Families.value(f, "bird_protocol_uptime", peer), 719, "bird_exporter says 0 here")
        XCTAssertEqual(Families.value(f, "bird_protocol_up", peer.merging(["state": "Established"]) { a, _ in a }), 1)
        // The vpn4-mpls channel has its own (empty) ip_version, not a second "6" with the wrong filters.
        let v6 = Families.samples(f, "bird_protocol_prefix_export_count", where: ["name": "peer_b_v6"])
        XCTAssertEqual(Set(v6.map { $0.labels.first { $0.name == "ip_version" }!.value }), ["6", ""])
    }
}
