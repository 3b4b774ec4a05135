import BIRDControl
import Exposition
import XCTest
@testable import MeshAgent

/// The BIRD families are built as `SampleTable`s; encoded, they must give the
/// very bytes the same metrics give when listed one by one.
final class BIRDRenderTests: XCTestCase {
    func testTablesEncodeExactlyLikeListedMetrics() throws {
        let snapshot = try Fixture.birdSnapshot()
        let history = BGPSessionHistory()
        let t = snapshot.now
        history.observe([("peer_b", .established, t), ("peer_10", .established, t), ("dead_peer", .active, nil)], at: t)
        history.observe([("peer_b", .idle, t), ("peer_10", .established, t), ("dead_peer", .active, nil)], at: t + 1)
        history.observe([("peer_b", .established, t + 2), ("peer_10", .established, t), ("dead_peer", .active, nil)], at: t + 2)
        let families = BIRDMetrics.families(snapshot, history: history.snapshot()) + BIRDCompatMetrics.families(snapshot)
        assertEncodesLikeListedMetrics(families, atLeast: 10_000)
    }
}

/// Encoded, `families` must give the bytes of the same metrics listed one by one, in both formats.
func assertEncodesLikeListedMetrics(_ families: [MetricFamily], atLeast bytes: Int, file: StaticString = #filePath, line: UInt = #line) {
    let listed = families.map { MetricFamily(name: $0.name, help: $0.help, type: $0.type, metrics: $0.metrics) }
    for format in [ExpositionFormat.text004, .openMetrics100] {
        let a = ExpositionEncoder.encode(families, format: format)
        let b = ExpositionEncoder.encode(listed, format: format)
        XCTAssertGreaterThan(a.count, bytes, file: file, line: line)
        XCTAssertEqual(String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self), "\(format)", file: file, line: line)
    }
}

/// The same on the route-server capture (BIRDControl's show-protocols-all-route-server.txt): the
/// native and compat families, whose rows the collector appends in the encoder's order, must
/// give the bytes of the listed metrics, which the encoder sorts itself.
final class BIRDRouteServerRenderTests: XCTestCase {
    static func snapshot() throws -> BIRDSnapshot {
        let utc = TimeZone(identifier: "UTC")!
        let now = Date(timeIntervalSince1970: 1_796_552_220) // 2026-12-06 10:17:00 UTC, just after the capture
        let time = BIRDTimeContext(timeZone: utc, now: now)
        return BIRDSnapshot(
            status: try BIRDStatus.parse(Fixture.birdReply("show-status.txt"), time: time),
            protocols: try BIRDProtocolList.parse(Fixture.birdReply("show-protocols-all-route-server.txt"), time: time),
            collectedAt: now)
    }

    func testTablesEncodeExactlyLikeListedMetrics() throws {
        let snapshot = try Self.snapshot()
        let families = BIRDMetrics.families(snapshot) + BIRDCompatMetrics.families(snapshot)
        assertEncodesLikeListedMetrics(families, atLeast: 100_000)
    }

    func testDescriptionsAreEscapedAndCountsKept() throws {
        let snapshot = try Self.snapshot()
        let text = String(decoding: ExpositionEncoder.encode(BIRDMetrics.families(snapshot) + BIRDCompatMetrics.families(snapshot),
                                                             format: .text004), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains(
            #"bird_proto_info{description="AS4200000003 '東京 IX' — peer #3, C:\\rs\\3",name="as4200000003",proto="BGP",table=""} 1"#))
        XCTAssertTrue(lines.contains(#"bird_channel_routes{channel="ipv6",kind="filtered",name="as4200000001",peer="",proto="BGP",table="master6"} 32"#))
        XCTAssertTrue(lines.contains(
            #"bird_channel_route_changes_total{channel="ipv4",direction="export",kind="update",name="as4200000000",proto="BGP",result="rejected",table="master4"} 32"#))
        XCTAssertTrue(lines.contains(
            #"bird_protocol_prefix_filter_count{export_filter="REJECT",import_filter="rs_in6",ip_version="6",name="as4200000001",proto="BGP"} 32"#))
        XCTAssertTrue(lines.contains(
            #"bird_protocol_changes_update_import_filter_count{export_filter="rs_out",import_filter="rs_in4",ip_version="4",name="as4200000000",proto="BGP"} 32"#))
        XCTAssertTrue(lines.contains(
            #"bird_protocol_up{export_filter="rs_out",import_filter="rs_in4",ip_version="4",name="as4200000050",proto="BGP",state=""} 0"#))
        XCTAssertEqual(lines.filter { $0.hasPrefix("bird_protocol_up{") }.count, 87) // one per channel
    }
}
