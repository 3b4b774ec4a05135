import Synchronization

/// Lets one loop's wait end early: `signal()` from anywhere, `wait(upTo:clock:)` in the loop
/// returns at the next slice (100 ms) after it, or when the time is up.
public final class WakeSignal: Sendable {
    private let raised = Mutex(false)

    public init() {}

    public func signal() {
        raised.withLock { $0 = true }
    }

    /// Waits `duration` on `clock`, or less once signalled; clears the signal.
    public func wait(upTo duration: Duration, clock: AgentClock) async {
        let deadline = clock.now() + duration
        while !Task.isCancelled {
            if raised.withLock({ let was = $0; $0 = false; return was }) { return }
            let left = deadline - clock.now()
            guard left > .zero else { return }
            try? await clock.sleep(for: min(left, .milliseconds(100)))
        }
    }
}
