import Foundation

/// Prints `[  1.2s] step` lines, with the time since the command started.
public final class ProgressReporter: @unchecked Sendable {
    private let start = Date()
    private let lock = NSLock()
    private let quiet: Bool

    public init(quiet: Bool = false) { self.quiet = quiet }

    public var elapsed: Double { Date().timeIntervalSince(start) }

    public func step(_ message: String) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let line = String(format: "[%6.1fs] ", elapsed) + message + "\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
