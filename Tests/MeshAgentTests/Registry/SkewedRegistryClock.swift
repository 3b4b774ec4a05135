@testable import MeshAgent
import Synchronization

/// A registry clock a test moves forward: `now` is the monotonic clock plus what the test
/// added, and waits take their real time, so etcd's leases (real TTLs) stay alive while holds
/// and grace periods pass at once.
final class SkewedRegistryClock: RegistryClock {
    private let offset = Mutex(Duration.zero)

    var now: ContinuousClock.Instant { ContinuousClock.now + offset.withLock { $0 } }

    func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }

    func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
