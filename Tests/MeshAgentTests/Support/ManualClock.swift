import Foundation
import Synchronization
@testable import MeshAgent

/// A clock that moves only when the test says so: loops and trackers see exactly the
/// instants the test chose, and nothing sleeps.
final class ManualClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    let origin = ContinuousClock.now
    let dateOrigin = Date(timeIntervalSince1970: 1_800_000_000)

    var now: ContinuousClock.Instant { origin + offset.withLock { $0 } }

    func advance(_ by: Duration) { offset.withLock { $0 += by } }

    var clock: AgentClock {
        AgentClock(now: { self.now }, date: { self.dateOrigin.addingTimeInterval((self.now - self.origin).seconds) },
                   sleep: { _ in throw CancellationError() })
    }
}
