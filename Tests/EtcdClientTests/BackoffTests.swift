import EtcdClient
import TestSupport
import XCTest

final class BackoffTests: XCTestCase {
    func testEachPauseLiesBetweenHalfItsStepAndTheStepWhichDoublesUpToTheCap() {
        var random = SplitMix64(seed: 13)
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
        let steps: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
                                 .seconds(2), .seconds(2), .seconds(2)]
        for (index, step) in steps.enumerated() {
            XCTAssertEqual(backoff.ceiling, step, "attempt \(index)")
            let pause = backoff.next(using: &random)
            XCTAssertGreaterThanOrEqual(pause, step / 2, "attempt \(index)")
            XCTAssertLessThanOrEqual(pause, step, "attempt \(index)")
        }
        XCTAssertEqual(backoff.attempts, steps.count)
        backoff.reset()
        XCTAssertEqual(backoff.attempts, 0)
        XCTAssertEqual(backoff.ceiling, .milliseconds(100))
    }

    func testTheSameSeedGivesTheSamePausesAndOtherSeedsSpreadThem() {
        func pauses(seed: UInt64) -> [Duration] {
            var random = SplitMix64(seed: seed)
            var backoff = Backoff(base: .milliseconds(500), cap: .seconds(10))
            return (0..<8).map { _ in backoff.next(using: &random) }
        }
        XCTAssertEqual(pauses(seed: 7), pauses(seed: 7))
        XCTAssertNotEqual(pauses(seed: 7), pauses(seed: 8))
        // 100 agents that lost etcd together: their first retries do not come at one instant.
        let first = Set((0..<100).map { pauses(seed: UInt64($0))[0] })
        XCTAssertGreaterThan(first.count, 90)
        let spread = first.max()! - first.min()!
        XCTAssertGreaterThan(spread, .milliseconds(200), "the jitter covers most of the random half (250 ms)")
    }

    func testManyFailuresNeitherOverflowNorExceedTheCap() {
        var random = SplitMix64(seed: 1)
        var backoff = Backoff(base: .seconds(1), cap: .seconds(30))
        for _ in 0..<200 {
            let pause = backoff.next(using: &random)
            XCTAssertLessThanOrEqual(pause, .seconds(30))
        }
        XCTAssertEqual(backoff.ceiling, .seconds(30))
        var huge = Backoff(base: .seconds(Int64.max / 4), cap: .seconds(Int64.max / 2))
        XCTAssertGreaterThan(huge.next(using: &random), .zero)
    }

    func testABaseBelowOneMillisecondAndACapBelowTheBaseAreRaised() {
        var random = SplitMix64(seed: 2)
        var zero = Backoff(base: .zero, cap: .zero)
        XCTAssertEqual(zero.base, .milliseconds(1))
        XCTAssertEqual(zero.cap, .milliseconds(1))
        XCTAssertGreaterThanOrEqual(zero.next(using: &random), .microseconds(500), "never a busy loop")
        let inverted = Backoff(base: .seconds(2), cap: .seconds(1))
        XCTAssertEqual(inverted.cap, .seconds(2))
    }
}
