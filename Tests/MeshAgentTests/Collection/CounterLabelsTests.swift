import Exposition
@testable import MeshAgent
import TestSupport
import XCTest

/// Counters whose label values are declared start every series at 0, so `increase()` sees the first event.
final class CounterLabelsTests: XCTestCase {
    func text(_ families: [MetricFamily]) -> String {
        String(decoding: ExpositionEncoder.encode(families, format: .text004), as: UTF8.self)
    }

    func testEveryDeclaredCombinationIsASeriesAtZeroAndCountedOnesKeepTheirCount() throws {
        let labels = CounterLabels([("action", ["a", "b"]), ("result", ["ok", "failed"])]) { $0 != ["b", "failed"] }
        XCTAssertEqual(labels.combinations, [["a", "ok"], ["a", "failed"], ["b", "ok"]])
        let family = labels.family("x_total", help: "x", counts: [["a", "failed"]: 2, ["c", "ok"]: 1])
        XCTAssertEqual(text([family]), """
            # HELP x_total x
            # TYPE x_total counter
            x_total{action="a",result="failed"} 2
            x_total{action="a",result="ok"} 0
            x_total{action="b",result="ok"} 0
            x_total{action="c",result="ok"} 1

            """, "a counted combination outside the declaration is still emitted")
    }

    func testRepairsStartAtZeroForWhatTheModeCanDo() throws {
        let metrics = RepairMetrics()
        func series(_ mode: RepairMode) -> [String] {
            metrics.values.withLock { $0.mode = mode }
            return text(metrics.families).split(separator: "\n").filter { $0.hasPrefix("bgpmesh_repairs_total{") }.map(String.init)
        }
        let on = series(.on)
        XCTAssertEqual(on.count, 9 * 2 * 2, "every action, ok and failed, auto and webhook")
        XCTAssertTrue(on.contains(#"bgpmesh_repairs_total{action="tinc_reload",result="failed",trigger="auto"} 0"#), "\(on)")
        XCTAssertTrue(on.allSatisfy { $0.hasSuffix(" 0") })
        let dry = series(.dryRun)
        XCTAssertEqual(dry.count, 9 * 2)
        XCTAssertTrue(dry.allSatisfy { $0.contains(#"result="dry_run""#) }, "\(dry)")
        XCTAssertEqual(series(.off), [])
        // A manual repair appears once counted.
        metrics.values.withLock { $0.repairs[RepairMetrics.Key(action: "tinc_retry", result: "ok", trigger: "manual"), default: 0] += 1 }
        XCTAssertTrue(series(.off).contains(#"bgpmesh_repairs_total{action="tinc_retry",result="ok",trigger="manual"} 1"#))
        let check = try Promtool.check(Array(text(metrics.families).utf8))
        XCTAssertEqual(check.status, 0, check.output)
    }

    func testTheOtherLabelledCountersStartAtZero() {
        let registry = text(RegistryMetrics().families)
        for reason in RegistryRejection.allCases {
            XCTAssertTrue(registry.contains(#"bgpmesh_registry_rejected_records_total{reason="\#(reason.rawValue)"} 0"#), reason.rawValue)
        }
        XCTAssertTrue(registry.contains(#"bgpmesh_registry_errors_total{kind="watch"} 0"#))
        let etcd = text(EtcdRequestMetrics().families)
        XCTAssertTrue(etcd.contains(#"bgpmesh_etcd_request_failures_total{op="range"} 0"#), etcd)
        XCTAssertTrue(etcd.contains(#"bgpmesh_etcd_request_failures_total{op="lease_keepalive"} 0"#), etcd)
        let peers = text(BGPPeersMetrics().families)
        XCTAssertTrue(peers.contains(#"bgpmesh_bird_peers_applies_total{result="refused"} 0"#), peers)
        let rotation = text(RotationMetrics(now: { 0 }).families)
        XCTAssertTrue(rotation.contains(#"bgpmesh_key_rotations_total{result="failed"} 0"#), rotation)
        let skips = text(RepairMetrics().families)
        XCTAssertTrue(skips.contains(#"bgpmesh_repair_skipped_total{reason="rate_limited"} 0"#), skips)
        let webhook = text(WebhookMetrics().families)
        XCTAssertTrue(webhook.contains(#"bgpmesh_webhook_alerts_total{action="unauthorized",status="unknown"} 0"#), webhook)
    }
}
