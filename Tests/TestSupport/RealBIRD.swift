import Foundation
import Glibc
import XCTest

/// A real BIRD 2 started in a temporary directory for a test: no kernel protocol, so it
/// touches no routes and needs no namespace. Stop it with `stop()` (tearDown).
public final class RealBIRD {
    public static let path = "/usr/sbin/bird"
    public let directory: String
    public var socketPath: String { directory + "/bird.ctl" }
    public var pidFile: String { directory + "/bird.pid" }

    /// Skips (loudly, naming the binary) only when BIRD is not installed.
    public init(config: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else {
            throw XCTSkip("SKIPPED LOUDLY: \(Self.path) is missing; install the bird2 package to run the real-BIRD tests")
        }
        directory = "/tmp/bgpmesh-bird-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = config ?? """
        router id 192.0.2.9;
        log "\(directory)/bird.log" all;
        protocol device {}
        protocol static { ipv4; route 203.0.113.0/24 blackhole; }

        """
        try text.write(toFile: directory + "/bird.conf", atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts BIRD (it daemonizes; the pid file names the daemon) and waits for its socket.
    /// Throws, failing the test, when BIRD rejects its config or does not come up.
    public func start() throws {
        try Spawn.run([Self.path, "-c", directory + "/bird.conf", "-s", socketPath, "-P", pidFile],
                      output: directory + "/bird.out", wait: true)
        let deadline = ContinuousClock.now + .seconds(2)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard ContinuousClock.now < deadline else {
                let log = (try? String(contentsOfFile: directory + "/bird.log", encoding: .utf8)) ?? "(no log)"
                throw ToolFailure(description: "BIRD did not create its socket \(socketPath) within 2 s; log:\n\(log)")
            }
            usleep(10_000)
        }
    }

    /// Stops the BIRD this test started, by the pid from its own pid file.
    public func stop() {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { return }
        kill(pid, SIGTERM)
        let stopped = waitUntil("BIRD \(pid) exits after SIGTERM", timeout: .seconds(3)) {
            // Gone, or a zombie waiting for init (our parent-less daemon is not our child to reap).
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return kill(pid, 0) != 0 || stat.contains(") Z ")
        }
        if !stopped { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Entries in /proc/self/fd: the leak check.
    public static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}
