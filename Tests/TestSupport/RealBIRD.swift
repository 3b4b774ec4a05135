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

    /// Throws XCTSkip (loudly) when BIRD is not installed.
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
    public func start() throws {
        try Spawn.run([Self.path, "-c", directory + "/bird.conf", "-s", socketPath, "-P", pidFile], wait: true)
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: socketPath) { return }
            usleep(10_000)
        }
        XCTFail("BIRD did not create its socket")
    }

    /// Stops the BIRD this test started, by the pid from its own pid file.
    public func stop() {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { return }
        kill(pid, SIGTERM)
        var stopped = false
        for _ in 0..<300 {
            // Gone, or a zombie waiting for init (our parent-less daemon is not our child to reap).
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if kill(pid, 0) != 0 || stat.contains(") Z ") { stopped = true; break }
            usleep(10_000)
        }
        if !stopped {
            XCTFail("BIRD \(pid) ignored SIGTERM for 3 s; killing it")
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Entries in /proc/self/fd: the leak check.
    public static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}
