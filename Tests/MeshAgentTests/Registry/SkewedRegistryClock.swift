import Foundation
@testable import MeshAgent
import Synchronization

/// A clock a test moves forward: `now` is the monotonic clock plus what the test added, and
/// waits take their real time, so etcd's leases (real TTLs) stay alive while the registry's
/// holds and grace periods pass at once.
final class SkewedRegistryClock: Sendable {
    private let offset = Mutex(Duration.zero)

    var clock: AgentClock {
        AgentClock(now: { ContinuousClock.now + self.offset.withLock { $0 } },
                   date: { Date().addingTimeInterval(self.offset.withLock { $0 }.seconds) },
                   sleep: { until in try await Task.sleep(until: until - self.offset.withLock { $0 }, clock: .continuous) })
    }

    func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
