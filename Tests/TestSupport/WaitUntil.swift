import Foundation
import XCTest

/// Polls `condition` every `poll` until it holds or `timeout` passes. On timeout it fails the
/// test naming `what` and returns false. The one way tests wait for a state: never a bare sleep.
@discardableResult
public func waitUntil(_ what: @autoclosure () -> String, timeout: Duration = .seconds(10), poll: Duration = .milliseconds(10),
                      file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try condition() { return true }
        if clock.now >= deadline {
            XCTFail("timed out after \(timeout) waiting until \(what())", file: file, line: line)
            return false
        }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
}

/// The async form of `waitUntil`, for conditions that await.
@discardableResult
public func waitUntil(_ what: @autoclosure () -> String, timeout: Duration = .seconds(10), poll: Duration = .milliseconds(10),
                      file: StaticString = #filePath, line: UInt = #line, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return true }
        if clock.now >= deadline {
            XCTFail("timed out after \(timeout) waiting until \(what())", file: file, line: line)
            return false
        }
        try? await Task.sleep(for: poll)
    }
}
