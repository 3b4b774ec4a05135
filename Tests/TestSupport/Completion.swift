import Foundation

/// Runs `body` on its own thread and waits for it until `timeout` has passed: its result, or
/// nil when it is still running then (a call that hangs). A hung thread is left behind; the
/// caller unblocks it (for a FIFO, by opening its other end).
public func completes<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () -> T) -> T? {
    let box = CompletionBox<T>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        let value = body()
        box.lock.withLock { box.value = value }
        done.signal()
    }
    let (seconds, attoseconds) = timeout.components
    guard done.wait(timeout: .now() + .seconds(Int(seconds)) + .nanoseconds(Int(attoseconds / 1_000_000_000))) == .success else {
        return nil
    }
    return box.lock.withLock { box.value }
}

private final class CompletionBox<T>: @unchecked Sendable {
    let lock = NSLock()
    var value: T?
}
