import Exposition
import TestSupport
import XCTest
@testable import MeshAgent

final class BGPPeersCollectorTests: XCTestCase {
    func testSeriesAndPromtool() async throws {
        let metrics = BGPPeersMetrics()
        metrics.update {
            $0.configured = 3
            $0.skipped = [.noASN: 1]
            $0.applies = [.applied: 2, .refused: 1]
            $0.refused = true
            $0.rollbacks = 1
            $0.lastApplied = 1_796_000_000
        }
        metrics.error("password")
        let families = try await BGPPeersCollector(metrics: metrics).collect()
        let text = String(decoding: ExpositionEncoder.encode(families, format: .text004), as: UTF8.self)
        for line in [
            "bgpmesh_bird_peers_configured 3",
            "bgpmesh_bird_peers_skipped{reason=\"no_asn\"} 1",
            "bgpmesh_bird_peers_skipped{reason=\"no_address\"} 0",
            "bgpmesh_bird_peers_applies_total{result=\"applied\"} 2",
            "bgpmesh_bird_peers_applies_total{result=\"refused\"} 1",
            "bgpmesh_bird_peers_applies_total{result=\"unavailable\"} 0",
            "bgpmesh_bird_peers_refused 1",
            "bgpmesh_bird_peers_file_conflict 0",
            "bgpmesh_bird_peers_rollbacks_total 1",
            "bgpmesh_bird_peers_errors_total{kind=\"password\"} 1",
            "bgpmesh_bird_peers_last_applied_timestamp_seconds 1796000000",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
        XCTAssertEqual(try Promtool.check(ExpositionEncoder.encode(families, format: .text004)).output, "")
        // Never applied: no timestamp series.
        let fresh = String(decoding: ExpositionEncoder.encode(BGPPeersMetrics().families, format: .text004), as: UTF8.self)
        XCTAssertFalse(fresh.contains("last_applied"))
    }
}
