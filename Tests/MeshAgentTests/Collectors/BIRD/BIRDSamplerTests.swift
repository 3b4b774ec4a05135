import BIRDControl
import Exposition
import Foundation
import Logging
import TestSupport
import XCTest
@testable import MeshAgent

/// The BIRD sampler owns the BIRD state; the collector only encodes it. Against a dead BIRD, a
/// hung socket, garbage, and a real BIRD (restarted halfway through 1000 polls). The sampler
/// runs on a manual clock: time moves only when the test moves it.
final class BIRDSamplerTests: XCTestCase {
    private func sampler(_ socket: String, timeout: Duration = .seconds(2), clock: ManualClock = ManualClock(),
                         settings: BIRDSampler.Settings = .init()) -> BIRDSampler {
        let client = BIRDClient(configuration: .init(socketPath: socket, restricted: true, timeout: timeout))
        return BIRDSampler(client: client, history: BGPSessionHistory(), settings: settings, clock: clock.clock, logger: Logger(label: "test"))
    }

    private func value(_ f: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        Families.value(f, name, labels)
    }

    /// How many reads of each kind the sampler made (its cost histogram's counts).
    private func reads(_ s: BIRDSampler) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for m in s.costFamily.metrics {
            if case let .histogram(h) = m.value, let kind = m.labels.first(where: { $0.name == "poll" })?.value { out[kind] = h.count }
        }
        return out
    }

    func testBeforeTheFirstPollTheCollectorFails() async {
        let s = sampler("/nonexistent/bird.ctl")
        do {
            _ = try await BIRDCollector(sampler: s, compat: false).collect()
            XCTFail("a collector with nothing sampled must not pretend BIRD is down or up")
        } catch {
            XCTAssertEqual("\(error)", "the BIRD sampler has not polled BIRD yet")
        }
    }

    func testBIRDNotRunningIsUpZeroNotAnError() async throws {
        let s = sampler("/nonexistent/bird.ctl")
        let ok = await s.poll()
        XCTAssertFalse(ok)
        let families = try await BIRDCollector(sampler: s, compat: false).collect()
        XCTAssertEqual(value(families, "bird_up"), 0)
        XCTAssertEqual(value(families, "bgpmesh_collector_errors_total", ["collector": "bird", "kind": "connect"]), 1)
        XCTAssertNil(families.first { $0.name == "bird_proto_up" && !$0.metrics.isEmpty })
        XCTAssertEqual(s.snapshot?.errors.first?.command, "show protocols")
        XCTAssertEqual(s.history.snapshot().pollErrors, 1)
    }

    func testHungSocketIsATimeoutAndBIRDDown() async throws {
        let server = try FakeUnixServer(greeting: "0001 BIRD 2.0.12 ready.\n", reply: nil)
        defer { server.stop() }
        let s = sampler(server.path, timeout: .milliseconds(300))
        let ok = await s.poll()
        XCTAssertFalse(ok)
        let families = try await BIRDCollector(sampler: s, compat: false).collect()
        XCTAssertEqual(value(families, "bird_up"), 0)
        XCTAssertEqual(value(families, "bgpmesh_collector_errors_total", ["collector": "bird", "kind": "timeout"]), 1)
        XCTAssertEqual(reads(s)["detail"], 0, "the short poll failed: no detailed read was tried")
    }

    func testGarbageIsAParseErrorAndEmitsNothingUnknown() async throws {
        let server = try FakeUnixServer(greeting: "0001 BIRD 2.0.12 ready.\n",
                                        reply: "\u{1}\u{2}garbage that is no reply\n\u{ff}\n0000 \n")
        defer { server.stop() }
        let s = sampler(server.path, timeout: .milliseconds(500))
        await s.poll()
        await s.poll(detailed: true)
        let families = try await BIRDCollector(sampler: s, compat: false).collect()
        XCTAssertEqual(value(families, "bird_up"), 0)
        let kinds = Set(families.first { $0.name == "bgpmesh_collector_errors_total" }!.metrics
            .compactMap { $0.labels.first { $0.name == "kind" }?.value })
        XCTAssertTrue(kinds.contains("parse") || kinds.contains("closed"), "\(kinds)")
        // Nothing from BIRD but bird_up (and the sampler's own, empty convergence histogram): no half-parsed series.
        let fromBIRD = Set(families.filter { !$0.metrics.isEmpty && $0.name.hasPrefix("bird_") }.map(\.name))
        XCTAssertEqual(fromBIRD, ["bird_up", "bird_bgp_convergence_duration_seconds"])
    }

    func testDetailedReadsOnTheirIntervalAtOnceOnAStateChangeAndWhenBIRDReturns() async throws {
        let bird = try RealBIRD()
        try bird.start()
        defer { bird.stop() }
        let clock = ManualClock()
        let s = sampler(bird.socketPath, clock: clock, settings: .init(interval: .seconds(1), detailInterval: .seconds(5),
                                                                       routeCountInterval: .seconds(10)))
        let collector = BIRDCollector(sampler: s, compat: false, clock: clock.clock)
        // The first poll reads everything.
        let first = await s.poll()
        XCTAssertTrue(first)
        XCTAssertEqual(reads(s), ["short": 1, "detail": 1])
        var families = try await collector.collect()
        XCTAssertEqual(value(families, "bird_up"), 1)
        XCTAssertEqual(value(families, "bird_proto_up", ["name": "static1", "proto": "Static"]), 1)
        XCTAssertEqual(value(families, "bird_table_routes", ["table": "master4"]), 1)
        XCTAssertEqual(s.snapshot?.protocols?["static1"]?.hasDetails, true, "the held snapshot is `show protocols all`'s")
        // Nothing changed and the detail interval has not passed: only the short poll.
        clock.advance(.seconds(1))
        await s.poll()
        XCTAssertEqual(reads(s), ["short": 2, "detail": 1])
        families = try await collector.collect()
        XCTAssertEqual(value(families, "bgpmesh_bird_snapshot_age_seconds"), 1, "the scrape shows the held read and its age")
        // The detail interval passed: a detailed read, the route counts (10 s) reused with their age.
        clock.advance(.seconds(4))
        await s.poll()
        XCTAssertEqual(reads(s), ["short": 3, "detail": 2])
        XCTAssertEqual(s.snapshot?.routeCountAge, 5)
        // A protocol changes state: read at once, although no interval passed.
        let admin = BIRDClient(configuration: .init(socketPath: bird.socketPath, restricted: false, timeout: .seconds(2)))
        defer { admin.close() }
        _ = try await admin.disable(protocol: "static1")
        await s.poll()
        XCTAssertEqual(reads(s), ["short": 4, "detail": 3])
        families = try await collector.collect()
        XCTAssertEqual(value(families, "bird_proto_up", ["name": "static1", "proto": "Static"]), 0)
        // BIRD dies: the next short poll says so; a scrape in between still shows the held read.
        bird.stop()
        families = try await collector.collect()
        XCTAssertEqual(value(families, "bird_up"), 1, "a scrape never talks to BIRD")
        let down = await s.poll()
        XCTAssertFalse(down)
        families = try await collector.collect()
        XCTAssertEqual(value(families, "bird_up"), 0, "a dead BIRD is bird_up 0 after one sampler poll")
        // BIRD comes back: read in detail at once.
        try bird.start()
        let back = await s.poll()
        XCTAssertTrue(back)
        XCTAssertEqual(reads(s)["detail"], 4)
        families = try await collector.collect()
        XCTAssertEqual(value(families, "bird_up"), 1)
    }

    func testDescriptorsStayFlatOver1000PollsWithBIRDRestarted() async throws {
        let bird = try RealBIRD()
        try bird.start()
        defer { bird.stop() }
        let s = sampler(bird.socketPath)
        let collector = BIRDCollector(sampler: s, compat: false)
        await s.poll(detailed: true)
        let first = try await collector.collect()
        XCTAssertEqual(value(first, "bird_up"), 1)
        let before = RealBIRD.openDescriptorCount()
        var down = 0
        for i in 0..<1000 {
            if i == 500 {
                bird.stop()
                await s.poll() // BIRD gone: bird_up 0, the connection is dropped
                try bird.start()
            }
            await s.poll(detailed: true)
            if value(try await collector.collect(), "bird_up") != 1 { down += 1 }
        }
        let after = RealBIRD.openDescriptorCount()
        XCTAssertEqual(after, before, "one connection before, one after: nothing leaked")
        XCTAssertLessThanOrEqual(down, 1, "only the poll right after the restart may find BIRD still starting")
    }
}
