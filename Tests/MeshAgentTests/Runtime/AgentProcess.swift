import Foundation
import Glibc
import XCTest

/// The real `bgpmesh-agent` binary from this build, run as a child process.
final class AgentProcess {
    let process = Process()
    private let stderrPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrBuffer = LockedBuffer()
    private let stdoutBuffer = LockedBuffer()

    /// Points every daemon path at nothing, so a test never reads (or probes the BGP
    /// neighbors of) a BIRD or tincd that happens to run on the test machine.
    static let hermetic = [
        "--collector.bird.socket", "/nonexistent-bgpmesh-test/bird.ctl",
        "--collector.tinc.dir", "/nonexistent-bgpmesh-test/tinc",
        "--collector.tinc.pidfile", "/nonexistent-bgpmesh-test/tinc.pid",
    ]

    /// The binary sits next to the test bundle in the build products directory.
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("bgpmesh-agent")
    }

    init(_ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            // The package's own product: its absence is a broken build, not a missing tool.
            throw AgentTestError("bgpmesh-agent binary not found at \(Self.binary.path); build it with `swift build --build-tests`")
        }
        process.executableURL = Self.binary
        process.arguments = arguments
        process.standardError = stderrPipe
        process.standardOutput = stdoutPipe
        process.standardInput = FileHandle.nullDevice
        let errBuf = stderrBuffer, outBuf = stdoutBuffer
        stderrPipe.fileHandleForReading.readabilityHandler = { errBuf.append($0.availableData) }
        stdoutPipe.fileHandleForReading.readabilityHandler = { outBuf.append($0.availableData) }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        stderrPipe.fileHandleForReading.readabilityHandler = nil
        stdoutPipe.fileHandleForReading.readabilityHandler = nil
    }

    var stderr: String { stderrBuffer.string }
    var stdout: String { stdoutBuffer.string }

    /// Waits for the "listening" log line and returns the first bound port.
    func waitForPort(timeout: TimeInterval = 10) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains("msg=listening") }),
               let field = line.split(separator: " ").first(where: { $0.hasPrefix("addresses=") }),
               let portText = field.split(separator: ",").first?.split(separator: ":").last,
               let port = UInt16(portText) {
                return port
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw AgentTestError("agent did not start listening; stderr:\n\(stderr)")
    }

    /// Waits for exit and returns the status, or nil after the timeout.
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        // Everything the agent wrote is in the pipes now: read the rest without waiting.
        Self.drain(stdoutPipe, into: stdoutBuffer)
        Self.drain(stderrPipe, into: stderrBuffer)
        return process.terminationStatus
    }

    /// Stops the handler and reads what is left in the pipe, without blocking (another
    /// process may still hold the write end, so end of file may never come).
    private static func drain(_ pipe: Pipe, into buffer: LockedBuffer) {
        let handle = pipe.fileHandleForReading
        handle.readabilityHandler = nil
        buffer.withLock {
            let fd = handle.fileDescriptor
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { $0.append(contentsOf: chunk[0..<n]); continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
        }
    }

    /// Runs the binary to completion (for one-shot subcommands).
    static func run(_ arguments: [String], timeout: TimeInterval = 30) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = try AgentProcess(arguments)
        guard let status = p.wait(timeout: timeout) else { throw AgentTestError("timed out: \(arguments)") }
        return (status, p.stdout, p.stderr)
    }
}

struct AgentTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

final class LockedBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.lock(); data.append(d); lock.unlock() }
    func withLock(_ body: (inout Data) -> Void) { lock.lock(); body(&data); lock.unlock() }
    var string: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
