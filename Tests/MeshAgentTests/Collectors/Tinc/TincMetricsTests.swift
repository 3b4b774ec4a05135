import Exposition
import Foundation
import TincControl
import Logging
import TestSupport
import XCTest
@testable import MeshAgent

/// tinc families from dumps, configuration and sysfs captured from tincd 1.0.36 in the lab
/// (Fixtures/tinc, copied from Tests/TincControlTests/Fixtures where capture-tinc.sh wrote them).
final class TincMetricsTests: XCTestCase {
    private func snapshot(dumpFixture: String) throws -> TincCollectorSnapshot {
        var s = TincCollectorSnapshot()
        s.running = true
        s.dump = TincLogParser.parse(Array(try Data(contentsOf: Fixture.directory.appendingPathComponent("tinc/\(dumpFixture)"))))
            .merged(connections: nil)
        s.dumpAge = 2.5
        let dir = TincConfigDirectory(path: Fixture.directory.appendingPathComponent("tinc/node1-tinc").path)
        s.config = try dir.serverConfig()
        s.hosts = try dir.hostFiles().map { ($0.name.rawValue, try? $0.result.get()) }
        s.interface = try TincInterfaceStatistics.read(interface: "tinc0",
                                                      sysfsRoot: Fixture.directory.appendingPathComponent("tinc/sysfs").path)
        return s
    }

    private func value(_ f: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        Families.value(f, name, labels)
    }

    func testAllReachable() throws {
        let f = TincMetrics.families(try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-all-reachable.log"), dumpErrors: 0)
        XCTAssertEqual(value(f, "tinc_up"), 1)
        XCTAssertEqual(value(f, "tinc_info", ["name": "node1", "mode": "switch", "version": "1.0"]), 1)
        for peer in ["node2", "node3"] {
            XCTAssertEqual(value(f, "tinc_node_reachable", ["peer": peer]), 1)
            XCTAssertEqual(value(f, "tinc_node_indirect", ["peer": peer]), 0)
            XCTAssertEqual(value(f, "tinc_node_pmtu_bytes", ["peer": peer]), 1451)
            XCTAssertEqual(value(f, "tinc_connectto_configured", ["peer": peer]), 1)
        }
        XCTAssertNil(value(f, "tinc_node_reachable", ["peer": "node1"]), "tincd's own node is not a peer")
        // `node` is the observer's target label: no tinc series carries one of its own.
        XCTAssertEqual(f.flatMap(\.metrics).filter { $0.labels.contains { $0.name == "node" } }.count, 0)
        XCTAssertEqual(value(f, "tinc_edges"), 6, "a full mesh of three nodes has six directed edges")
        XCTAssertEqual(value(f, "tinc_edge_weight", ["from": "node1", "to": "node2"]), 5)
        XCTAssertEqual(value(f, "tinc_dump_age_seconds"), 2.5)
        XCTAssertNil(f.first { $0.name == "tinc_node_udp_confirmed" && !$0.metrics.isEmpty }, "tinc 1.0 has no UDP confirmation bit")
    }

    func testIndirectAfterACutLink() throws {
        // Lab: `fault cut-link node1 node2`; node3 relays, and the status bits do not say so.
        let f = TincMetrics.families(try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-node2-indirect-after-cut-link.log"), dumpErrors: 3)
        XCTAssertEqual(value(f, "tinc_node_reachable", ["peer": "node2"]), 1)
        XCTAssertEqual(value(f, "tinc_node_indirect", ["peer": "node2"]), 1)
        XCTAssertEqual(value(f, "tinc_node_route_info", ["peer": "node2", "nexthop": "node3", "via": "node2"]), 1)
        XCTAssertEqual(value(f, "tinc_node_indirect", ["peer": "node3"]), 0)
        XCTAssertEqual(value(f, "tinc_edges"), 4)
        XCTAssertEqual(value(f, "tinc_dump_errors_total"), 3)
    }

    func testHostKeysFingerprintsMatchOpenSSL() throws {
        let f = TincMetrics.families(try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-all-reachable.log"), dumpErrors: 0)
        let expected = try String(contentsOf: Fixture.directory.appendingPathComponent("tinc/node1-tinc/fingerprints.openssl.txt"), encoding: .utf8)
        for line in expected.split(separator: "\n") {
            let parts = line.split(separator: " ")
            XCTAssertEqual(value(f, "tinc_host_key_info", ["peer": String(parts[0]), "fingerprint": String(parts[1])]), 1, String(line))
            XCTAssertEqual(value(f, "tinc_host_key_valid", ["peer": String(parts[0])]), 1)
        }
    }

    func testInterfaceCounters() throws {
        let f = TincMetrics.families(try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-all-reachable.log"), dumpErrors: 0)
        XCTAssertEqual(value(f, "tinc_interface_mtu_bytes", ["interface": "tinc0"]), 1400)
        XCTAssertNotNil(value(f, "tinc_interface_receive_bytes_total", ["interface": "tinc0"]))
        XCTAssertEqual(value(f, "tinc_interface_up", ["interface": "tinc0"]), 1)
    }

    func testDeadTincdStillExportsConfiguration() throws {
        var s = try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-all-reachable.log")
        s.running = false
        s.dump = nil
        s.dumpAge = nil
        let f = TincMetrics.families(s, dumpErrors: 0)
        XCTAssertEqual(value(f, "tinc_up"), 0)
        XCTAssertEqual(value(f, "tinc_connectto_configured", ["peer": "node2"]), 1)
        XCTAssertNil(f.first { $0.name == "tinc_node_reachable" })
    }

    /// tinc 1.1pre18 node lines (a synthetic transcript written from tinc's format strings: the lab runs 1.0).
    func testTinc11RTTAndTrafficCounters() throws {
        let transcript = try Fixture.text("tinc/tinc11-pre18-session.synthetic-from-format-strings.txt")
        var nodes: [TincNode] = []
        for line in transcript.split(separator: "\n") where line.hasPrefix("S: 18 3 ") {
            guard case let .item(item) = try TincControlParser.reply(line.dropFirst(3), to: .dumpNodes) else { continue }
            nodes.append(try TincNode(tinc11Item: item))
        }
        var s = TincCollectorSnapshot()
        s.running = true
        s.dump = TincDump(dialect: .tinc11pre17, pid: 4242, nodes: nodes, edges: [], subnets: [], connections: [])
        let f = TincMetrics.families(s, dumpErrors: 0)
        XCTAssertEqual(value(f, "tinc_node_rtt_seconds", ["peer": "node2"]), 0.001873)
        XCTAssertEqual(value(f, "tinc_node_receive_bytes_total", ["peer": "node2"]), 15360)
        XCTAssertEqual(value(f, "tinc_node_transmit_packets_total", ["peer": "node3"]), 41)
        XCTAssertEqual(value(f, "tinc_node_udp_confirmed", ["peer": "node2"]), 1)
        XCTAssertEqual(value(f, "tinc_node_indirect", ["peer": "node3"]), 1, "node3's nexthop is node2")
        XCTAssertEqual(value(f, "tinc_node_reachable", ["peer": "node4"]), 0)
        XCTAssertNil(value(f, "tinc_node_rtt_seconds", ["peer": "node4"]))
    }

    func testTinc11PidfileSwitchesToTheControlSocket() throws {
        let dir = NSTemporaryDirectory() + "bgpmesh-tinc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = TincDaemonClient(configuration: .init(net: "bgpmesh", directory: dir, pidfile: dir + "/tinc.pid"))
        let sampler = TincDumpSampler(client: client, state: TincDumpState(), interval: .seconds(5), logger: .init(label: "t"))
        try "4242\n".write(toFile: dir + "/tinc.pid", atomically: true, encoding: .utf8)
        XCTAssertFalse(sampler.speaksControlSocket, "tinc 1.0 writes only the pid")
        try "4242 \(String(repeating: "ab", count: 32)) 127.0.0.1 port 655\n".write(toFile: dir + "/tinc.pid", atomically: true, encoding: .utf8)
        XCTAssertTrue(sampler.speaksControlSocket)
    }

    func testSignalSpacingIsAFifthOfTheDumpIntervalBetween100msAnd1s() {
        XCTAssertEqual(TincDumpSampler.signalSpacing(minimumDumpInterval: .seconds(5)), .seconds(1))
        XCTAssertEqual(TincDumpSampler.signalSpacing(minimumDumpInterval: .seconds(60)), .seconds(1))
        XCTAssertEqual(TincDumpSampler.signalSpacing(minimumDumpInterval: .seconds(1)), .milliseconds(200))
        XCTAssertEqual(TincDumpSampler.signalSpacing(minimumDumpInterval: .milliseconds(100)), .milliseconds(100))
    }

    func testPromtoolIsSilent() throws {
        let f = TincMetrics.families(try snapshot(dumpFixture: "tinc10-node1-usr2-usr1-node2-indirect-after-cut-link.log"), dumpErrors: 1)
        let check = try Promtool.check(ExpositionEncoder.encode(f, format: .text004))
        XCTAssertEqual(check.output, "")
    }
}
