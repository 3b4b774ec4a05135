import Synchronization

/// Lets one loop's wait end early: `signal()` from anywhere ends a running
/// `wait(upTo:clock:)` at once, or the next one if none runs.
///
/// The wait suspends until the signal or the time is up; it does not poll (it used to look
/// every 100 ms: ten wakeups a second of the registry's publish loop, for nothing).
public final class WakeSignal: Sendable {
    private struct State {
        var raised = false
        var nextID = 0
        /// Suspended waits, resumed by `signal()` or by their own cancellation.
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before they suspended: they must not suspend.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.raised = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits `duration` on `clock`, or less once signalled; clears the signal.
    public func wait(upTo duration: Duration, clock: AgentClock) async {
        let deadline = clock.now() + duration
        while !Task.isCancelled {
            if consume() { return }
            let left = deadline - clock.now()
            guard left > .zero else { return }
            // Whichever ends first: the sleep, or the signal. A clock whose sleep returns early
            // (a test's) only brings the next look at the deadline, as before.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await clock.sleep(for: left) }
                group.addTask { await self.signalled() }
                _ = await group.next()
                group.cancelAll()
            }
        }
    }

    /// Takes the signal if it is raised.
    private func consume() -> Bool {
        state.withLock { state in
            defer { state.raised = false }
            return state.raised
        }
    }

    /// Returns once the signal is raised (without clearing it) or the task is cancelled.
    private func signalled() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.raised || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // A cancellation that came after the resume leaves its mark; drop it.
        _ = state.withLock { $0.cancelled.remove(id) }
    }
}
