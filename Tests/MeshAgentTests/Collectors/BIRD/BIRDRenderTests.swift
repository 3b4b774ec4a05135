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
        let listed = families.map { MetricFamily(name: $0.name, help: $0.help, type: $0.type, metrics: $0.metrics) }
        for format in [ExpositionFormat.text004, .openMetrics100] {
            let a = ExpositionEncoder.encode(families, format: format)
            let b = ExpositionEncoder.encode(listed, format: format)
            XCTAssertGreaterThan(a.count, 10_000)
            XCTAssertEqual(String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self), "\(format)")
        }
    }
}
