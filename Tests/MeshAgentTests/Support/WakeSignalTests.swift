import Synchronization
import TestSupport
import XCTest
@testable import MeshAgent

final class WakeSignalTests: XCTestCase {
    /// A clock that stands still and records every sleep it is asked for. `sleeps` says what a
    /// sleep does: return at once (the time is up), or wait until its task is cancelled.
    final class RecordingClock: Sendable {
        let origin = ContinuousClock.now
        let targets = Mutex<[ContinuousClock.Instant]>([])
        let returnsAtOnce: Bool

        init(returnsAtOnce: Bool) { self.returnsAtOnce = returnsAtOnce }

        var clock: AgentClock {
            AgentClock(now: { self.origin }, date: { Date(timeIntervalSince1970: 1_800_000_000) }, sleep: { until in
                self.targets.withLock { $0.append(until) }
                if self.returnsAtOnce { return }
                // Only a cancellation ends it.
                while true { try await Task.sleep(for: .seconds(3600)) }
            })
        }

        var sleepCount: Int { targets.withLock { $0.count } }
    }

    func testASignalEndsAWaitThatSleepsOnceForTheWholeDuration() async {
        let recording = RecordingClock(returnsAtOnce: false)
        let wake = WakeSignal()
        let waiter = Task { await wake.wait(upTo: .seconds(60), clock: recording.clock) }
        let asleep = await waitUntil("the wait sleeps") { recording.sleepCount == 1 }
        XCTAssertTrue(asleep)
        wake.signal()
        await waiter.value
        // One sleep for the whole minute, not a look every 100 ms.
        XCTAssertEqual(recording.targets.withLock { $0 }, [recording.origin + .seconds(60)])
    }

    func testASignalBeforeTheWaitEndsItWithoutSleepingAndIsTakenOnce() async {
        let recording = RecordingClock(returnsAtOnce: false)
        let wake = WakeSignal()
        wake.signal()
        wake.signal()
        await wake.wait(upTo: .seconds(60), clock: recording.clock)
        XCTAssertEqual(recording.sleepCount, 0)
        // The signal was taken: the next wait sleeps until signalled again.
        let waiter = Task { await wake.wait(upTo: .seconds(60), clock: recording.clock) }
        let asleep = await waitUntil("the second wait sleeps") { recording.sleepCount == 1 }
        XCTAssertTrue(asleep)
        wake.signal()
        await waiter.value
    }

    func testTheWaitEndsWhenTheTimeIsUpAndKeepsALaterSignal() async {
        // A clock whose sleeps return at once but whose time stands still: the wait looks
        // at its deadline again after each sleep, so it sleeps again until the test moves on.
        let offset = Mutex(Duration.zero)
        let origin = ContinuousClock.now
        let clock = AgentClock(now: { origin + offset.withLock { $0 } }, date: { Date() }, sleep: { until in
            offset.withLock { $0 = until - origin }
        })
        let wake = WakeSignal()
        await wake.wait(upTo: .seconds(5), clock: clock)
        XCTAssertEqual(offset.withLock { $0 }, .seconds(5))
        wake.signal()
        await wake.wait(upTo: .seconds(5), clock: clock)
        XCTAssertEqual(offset.withLock { $0 }, .seconds(5), "a raised signal ends the next wait before any sleep")
    }

    func testCancellingTheTaskEndsTheWait() async {
        let recording = RecordingClock(returnsAtOnce: false)
        let wake = WakeSignal()
        let waiter = Task { await wake.wait(upTo: .seconds(60), clock: recording.clock) }
        let asleep = await waitUntil("the wait sleeps") { recording.sleepCount == 1 }
        XCTAssertTrue(asleep)
        waiter.cancel()
        await waiter.value
        // The signal was not raised by the cancellation.
        let next = Task { await wake.wait(upTo: .seconds(60), clock: recording.clock) }
        let again = await waitUntil("the next wait sleeps") { recording.sleepCount == 2 }
        XCTAssertTrue(again)
        wake.signal()
        await next.value
    }
}
