import Dispatch
import Exposition
import XCTest

final class HistogramAccumulatorTests: XCTestCase {
    func testBucketsAreInclusiveAndCumulative() {
        let accumulator = HistogramAccumulator(bounds: [1, 0.125, 0.5, 0.5, .infinity, .nan])
        XCTAssertEqual(accumulator.bounds, [0.125, 0.5, 1])
        // Binary fractions, so the expected sum is exact.
        for value in [0.0625, 0.125, 0.25, 0.5, 0.75, 1, 2, .nan, -3] {
            accumulator.observe(value)
        }
        let snapshot = accumulator.snapshot()
        XCTAssertEqual(snapshot, HistogramValue(buckets: [(0.125, 3), (0.5, 5), (1, 7)], count: 8, sum: 1.6875))
    }

    func testEmpty() {
        XCTAssertEqual(HistogramAccumulator(bounds: [1, 2]).snapshot(),
                       HistogramValue(buckets: [(1, 0), (2, 0)], count: 0, sum: 0))
        let noBounds = HistogramAccumulator(bounds: [])
        noBounds.observe(3)
        XCTAssertEqual(noBounds.snapshot(), HistogramValue(buckets: [], count: 1, sum: 3))
    }

    func testConcurrentObservations() {
        let accumulator = HistogramAccumulator(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<10_000 {
                accumulator.observe(Double((i + worker) % 2000))
            }
        }
        let snapshot = accumulator.snapshot()
        XCTAssertEqual(snapshot.count, 80_000)
        XCTAssertEqual(snapshot.buckets.last?.upperBound, 512)
        XCTAssertLessThanOrEqual(snapshot.buckets.last?.cumulativeCount ?? .max, snapshot.count)
        var expectedSum = 0.0
        for worker in 0..<8 {
            for i in 0..<10_000 {
                expectedSum += Double((i + worker) % 2000)
            }
        }
        // Integers far below 2^53: the sum is exact in any order.
        XCTAssertEqual(snapshot.sum, expectedSum)
    }

    func testSnapshotEncodes() {
        let accumulator = HistogramAccumulator(bounds: [0.5, 1])
        accumulator.observe(0.25)
        let family = MetricFamily.histogram("x_seconds", help: "X.", [Metric(histogram: accumulator.snapshot())])
        XCTAssertEqual(String(decoding: ExpositionEncoder.encode([family], format: .text004), as: UTF8.self), """
            # HELP x_seconds X.
            # TYPE x_seconds histogram
            x_seconds_bucket{le="0.5"} 1
            x_seconds_bucket{le="1"} 1
            x_seconds_bucket{le="+Inf"} 1
            x_seconds_sum 0.25
            x_seconds_count 1

            """)
    }
}
