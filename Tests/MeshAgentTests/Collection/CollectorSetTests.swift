import Exposition
import Logging
import Synchronization
import XCTest
@testable import MeshAgent

/// A collector whose behaviour the test picks: return, throw, or hang.
private final class ScriptedCollector: Collector, Sendable {
    enum Behaviour: Sendable { case ok(Duration), fail, hang }
    let name: String
    let behaviour: Behaviour
    let calls = Mutex(0)
    /// A `.hang` that ran to its end.
    let hangEnded = Mutex(false)

    init(_ name: String, _ behaviour: Behaviour) {
        self.name = name
        self.behaviour = behaviour
    }

    struct Boom: Error, CustomStringConvertible { var description: String { "socket said no" } }

    func collect() async throws -> [MetricFamily] {
        calls.withLock { $0 += 1 }
        switch behaviour {
        case let .ok(delay):
            try await Task.sleep(for: delay)
            return [.gauge("test_\(name)_value", help: "A test value.", [Metric([], 1)])]
        case .fail:
            throw Boom()
        case .hang:
            // Ignores cancellation on purpose, like a blocking read with no deadline.
            let until = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < until { usleep(10_000) } // the stimulus: a 5 s hang
            hangEnded.withLock { $0 = true }
            return []
        }
    }
}

final class CollectorSetTests: XCTestCase {
    private let logger = Logger(label: "test")

    private func value(_ families: [MetricFamily], _ name: String, collector: String) -> Double? {
        let metric = families.first { $0.name == name }?.metrics.first { $0.labels == [Label("collector", collector)] }
        if case let .value(v)? = metric?.value { return v }
        return nil
    }

    func testConcurrentScrapesShareOneCollection() async {
        let slow = ScriptedCollector("slow", .ok(.milliseconds(300)))
        let set = CollectorSet(collectors: [slow], timeout: .seconds(5), logger: logger)
        let results = await withTaskGroup(of: Collection.self) { group in
            for _ in 0..<10 { group.addTask { await set.collect() } }
            var out: [Collection] = []
            for await c in group { out.append(c) }
            return out
        }
        XCTAssertEqual(results.count, 10)
        XCTAssertEqual(slow.calls.withLock { $0 }, 1, "ten concurrent scrapes must cost one collection")
        XCTAssertEqual(set.collectionsRun, 1)
        _ = await set.collect()
        XCTAssertEqual(slow.calls.withLock { $0 }, 2, "a later scrape collects afresh")
    }

    func testHangingCollectorTimesOutAndOthersAreUnaffected() async {
        let hanging = ScriptedCollector("stuck", .hang)
        let set = CollectorSet(collectors: [hanging, ScriptedCollector("fine", .ok(.zero)),
                                            ScriptedCollector("broken", .fail)],
                               timeout: .milliseconds(200), logger: logger)
        let c = await set.collect()
        XCTAssertFalse(hanging.hangEnded.withLock { $0 }, "the deadline must fire before the hang ends")
        XCTAssertEqual(value(c.families, "bgpmesh_scrape_collector_success", collector: "stuck"), 0)
        XCTAssertEqual(value(c.families, "bgpmesh_scrape_collector_success", collector: "fine"), 1)
        XCTAssertEqual(value(c.families, "bgpmesh_scrape_collector_success", collector: "broken"), 0)
        XCTAssertNotNil(c.families.first { $0.name == "test_fine_value" })
        let stuck = c.reports.first { $0.name == "stuck" }
        XCTAssertEqual(stuck?.error, "timed out after 200ms")
        XCTAssertEqual(c.reports.first { $0.name == "broken" }?.error, "socket said no")
        let duration = value(c.families, "bgpmesh_scrape_collector_duration_seconds", collector: "stuck") ?? 0
        XCTAssertGreaterThanOrEqual(duration, 0.2)
    }

    func testReadinessNeedsEveryCollectorOnce() async {
        let set = CollectorSet(collectors: [ScriptedCollector("a", .ok(.zero)), ScriptedCollector("b", .fail)],
                               timeout: .seconds(1), logger: logger)
        XCTAssertFalse(set.isReady)
        _ = await set.collect()
        XCTAssertTrue(set.isReady, "a failed collector has still completed")
        XCTAssertEqual(set.lastReports.map(\.name), ["a", "b"])
    }
}
