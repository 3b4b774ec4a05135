import Synchronization

/// The result of racing an operation against a deadline.
enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(Result<T, any Error>)
    case timedOut
}

/// Resumes a continuation at most once, from whichever side gets there first.
private final class OneShot<T: Sendable>: Sendable {
    private let slot = Mutex<CheckedContinuation<DeadlineOutcome<T>, Never>?>(nil)

    func arm(_ continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) {
        slot.withLock { $0 = continuation }
    }

    func fire(_ outcome: DeadlineOutcome<T>) {
        let continuation = slot.withLock { slot -> CheckedContinuation<DeadlineOutcome<T>, Never>? in
            defer { slot = nil }
            return slot
        }
        continuation?.resume(returning: outcome)
    }
}

/// Runs `operation` in its own task and returns at the deadline even if the
/// operation does not: a task group would wait for a child that ignores
/// cancellation, so this uses a one-shot continuation instead. The loser is cancelled.
func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    let once = OneShot<T>()
    return await withCheckedContinuation { continuation in
        once.arm(continuation)
        let work = Task {
            do { once.fire(.finished(.success(try await operation()))) } catch { once.fire(.finished(.failure(error))) }
        }
        let timer = Task {
            // Cancelled when the work wins, so no timer outlives its collection.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            once.fire(.timedOut)
            work.cancel()
        }
        Task {
            _ = await work.result
            timer.cancel()
        }
    }
}
