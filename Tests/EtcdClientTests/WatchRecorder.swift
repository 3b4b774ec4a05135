@testable import EtcdClient
import Foundation
import TestSupport
import Synchronization
import XCTest

/// Consumes a watch stream in a task and records what it delivers, so tests can wait for a
/// condition with a bound instead of blocking on the next element.
final class WatchRecorder: Sendable {
    private struct State {
        var updates: [EtcdWatchUpdate] = []
        var finished = false
        var error: (any Error)?
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: EtcdWatchStream) {
        let consumer = Task {
            do {
                for try await update in stream {
                    self.state.withLock { $0.updates.append(update) }
                }
                self.state.withLock { $0.finished = true }
            } catch {
                self.state.withLock {
                    $0.error = error
                    $0.finished = true
                }
            }
        }
        task.withLock { $0 = consumer }
    }

    var updates: [EtcdWatchUpdate] { state.withLock { $0.updates } }
    var finished: Bool { state.withLock { $0.finished } }
    var error: EtcdError? { state.withLock { $0.error as? EtcdError } }
    var anyError: (any Error)? { state.withLock { $0.error } }

    var events: [EtcdEvent] {
        updates.flatMap { update -> [EtcdEvent] in
            if case .events(let events, _) = update { return events }
            return []
        }
    }

    var createdCount: Int {
        updates.filter { if case .created = $0 { true } else { false } }.count
    }

    /// Waits up to `seconds` for `condition`; fails the test with `message` otherwise.
    @discardableResult
    func wait(seconds: Double = 10, _ message: String, file: StaticString = #filePath, line: UInt = #line,
              until condition: (WatchRecorder) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if condition(self) { return true }
        XCTFail("\(message) within \(seconds) s; updates: \(updates), error: \(String(describing: anyError))", file: file, line: line)
        return false
    }

    func cancel() {
        task.withLock { $0?.cancel() }
    }

    /// Waits (bounded) for the consumer task to end.
    func join(seconds: Double = 5) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !finished && Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return finished
    }
}
