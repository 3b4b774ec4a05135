import BIRDControl
import Exposition
import Foundation
import Logging
import TestSupport
import XCTest
@testable import MeshAgent

/// The BIRD collector against a dead BIRD, a hung socket, garbage, and a real BIRD
/// restarted halfway through 1000 collections.
final class BIRDCollectorTests: XCTestCase {
    private func collector(_ socket: String, timeout: Duration = .seconds(2)) -> BIRDCollector {
        let client = BIRDClient(configuration: .init(socketPath: socket, restricted: true, timeout: timeout))
        return BIRDCollector(client: client, history: nil, compat: false, logger: Logger(label: "test"))
    }

    private func value(_ f: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        BIRDMetricsTests.value(f, name, labels)
    }

    func testBIRDNotRunningIsUpZeroNotAnError() async throws {
        let c = collector("/nonexistent/bird.ctl")
        let families = try await c.collect()
        XCTAssertEqual(value(families, "bird_up"), 0)
        XCTAssertEqual(value(families, "bgpmesh_collector_errors_total", ["collector": "bird", "kind": "connect"]), 1)
        XCTAssertNil(families.first { $0.name == "bird_proto_up" && !$0.metrics.isEmpty })
        XCTAssertEqual(c.lastSnapshot?.errors.first?.command, "show status")
    }

    func testHungSocketCostsTheDeadlineNotAHang() async throws {
        let server = try FakeUnixServer(greeting: "0001 BIRD 2.0.12 ready.\n", reply: nil)
        defer { server.stop() }
        let c = collector(server.path, timeout: .milliseconds(300))
        let start = ContinuousClock.now
        let families = try await c.collect()
        let elapsed = ContinuousClock.now - start
        XCTAssertLessThan(elapsed, .seconds(2), "one deadline, then the collection stops")
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(250))
        XCTAssertEqual(value(families, "bird_up"), 0)
        XCTAssertEqual(value(families, "bgpmesh_collector_errors_total", ["collector": "bird", "kind": "timeout"]), 1)
    }

    func testGarbageIsAParseErrorAndEmitsNothingUnknown() async throws {
        let server = try FakeUnixServer(greeting: "0001 BIRD 2.0.12 ready.\n",
                                        reply: "\u{1}\u{2}garbage that is no reply\n\u{ff}\n0000 \n")
        defer { server.stop() }
        let c = collector(server.path, timeout: .milliseconds(500))
        let families = try await c.collect()
        XCTAssertEqual(value(families, "bird_up"), 0)
        let kinds = Set(families.first { $0.name == "bgpmesh_collector_errors_total" }!.metrics
            .compactMap { $0.labels.first { $0.name == "kind" }?.value })
        XCTAssertTrue(kinds.contains("parse") || kinds.contains("closed"), "\(kinds)")
        // Nothing but bird_up and the error counter: no half-parsed series.
        let emitted = Set(families.filter { !$0.metrics.isEmpty }.map(\.name))
        XCTAssertEqual(emitted, ["bird_up", "bgpmesh_collector_errors_total"])
    }

    func testTableCountsComeFromTheSamplersCacheOnceItHasOne() async throws {
        let bird = try RealBIRD()
        try bird.start()
        defer { bird.stop() }
        let cache = BIRDRouteCountCache()
        let client = BIRDClient(configuration: .init(socketPath: bird.socketPath, restricted: true, timeout: .seconds(2)))
        let c = BIRDCollector(client: client, history: nil, routeCounts: cache, compat: false, logger: Logger(label: "test"))
        // Empty cache: the scrape counts itself and fills the cache.
        let first = try await c.collect()
        XCTAssertEqual(value(first, "bird_table_routes", ["table": "master4"]), 1)
        XCTAssertNotNil(cache.value)
        // A sampler refresh (here: a stored value 4 s old) is what later scrapes show.
        cache.store(BIRDRouteCount(tables: [BIRDTableRouteCount(table: "master4", shownRoutes: 7, routes: 7, networks: 7)]),
                    at: Date().addingTimeInterval(-4))
        let second = try await c.collect()
        XCTAssertEqual(value(second, "bird_table_routes", ["table": "master4"]), 7)
        XCTAssertEqual(value(second, "bgpmesh_bird_route_count_age_seconds")!, 4, accuracy: 1)
        // And the sampler refreshes it from BIRD when due.
        let sampler = BIRDSessionSampler(client: client, history: BGPSessionHistory(), interval: .seconds(1),
                                         routeCounts: cache, routeCountInterval: .seconds(2), logger: Logger(label: "test"))
        try await sampler.poll()
        XCTAssertEqual(cache.value?.counts["master4"]?.routes, 1)
    }

    func testDescriptorsStayFlatOver1000CollectionsWithBIRDRestarted() async throws {
        let bird = try RealBIRD()
        try bird.start()
        defer { bird.stop() }
        let c = collector(bird.socketPath)
        let first = try await c.collect()
        XCTAssertEqual(value(first, "bird_up"), 1)
        XCTAssertEqual(value(first, "bird_proto_up", ["name": "static1", "proto": "Static"]), 1)
        let before = RealBIRD.openDescriptorCount()
        var down = 0
        for i in 0..<1000 {
            if i == 500 {
                bird.stop()
                _ = try await c.collect() // BIRD gone: bird_up 0, the connection is dropped
                try bird.start()
            }
            let families = try await c.collect()
            if value(families, "bird_up") != 1 { down += 1 }
        }
        let after = RealBIRD.openDescriptorCount()
        XCTAssertEqual(after, before, "one connection before, one after: nothing leaked")
        XCTAssertLessThanOrEqual(down, 1, "only the collection right after the restart may find BIRD still starting")
    }
}
