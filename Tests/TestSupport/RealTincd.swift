import Foundation
import Glibc
import XCTest

/// A real tincd 1.0 on a temporary directory for a test: DeviceType = dummy (no tun device, no
/// namespace), loopback only, logging to a file, in the foreground (-D), so the test's own
/// child. Stop it with `stop()` (tearDown); `reap()` after killing it yourself.
public final class RealTincd {
    public static let path = "/usr/sbin/tincd"
    public let directory: String
    public let net: String
    public var configDirectory: String { directory + "/" + net }
    public var pidfile: String { directory + "/tinc.pid" }
    public var logfile: String { directory + "/tinc.log" }
    public private(set) var pid: pid_t = 0
    /// Started without -D: tincd forked and detached, so it is not this process's child (its
    /// parent reaps it when killed, as systemd would).
    public private(set) var detached = false

    /// Skips (loudly, naming the binary) only when tinc is not installed.
    public init(net: String = "bgpmesh") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else {
            throw XCTSkip("SKIPPED LOUDLY: \(Self.path) is missing; install the tinc package to run the real-tincd tests")
        }
        self.net = net
        directory = "/tmp/bgpmesh-tincd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/" + net + "/hosts", withIntermediateDirectories: true)
        let port = Int.random(in: 40000...50000)
        try """
        Name = t1
        DeviceType = dummy
        AddressFamily = ipv4
        BindToAddress = 127.0.0.1
        Port = \(port)

        """.write(toFile: configDirectory + "/tinc.conf", atomically: true, encoding: .utf8)
        try "Address = 127.0.0.1\nPort = \(port)\nSubnet = 198.51.100.201/32\n"
            .write(toFile: configDirectory + "/hosts/t1", atomically: true, encoding: .utf8)
        try Spawn.run([Self.path, "-n", net, "-c", configDirectory, "-K1024"], output: directory + "/spawn.out", wait: true)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts tincd and waits (at most 10 s) until its pidfile names it and its log says it is ready.
    public func start(detached: Bool = false) throws {
        unlink(pidfile)
        self.detached = detached
        let arguments = [Self.path, "-n", net, "-c", configDirectory] + (detached ? [] : ["-D"])
            + ["--logfile=\(logfile)", "--pidfile=\(pidfile)"]
        pid = try Spawn.run(arguments, output: directory + "/spawn.out", wait: detached)
        let deadline = ContinuousClock.now + .seconds(10)
        func pidfilePid() -> pid_t? {
            (try? String(contentsOfFile: pidfile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        while (detached ? pidfilePid() == nil : pidfilePid() != pid)
            || !((try? String(contentsOfFile: logfile, encoding: .utf8))?.contains("Ready") ?? false) {
            guard ContinuousClock.now < deadline else {
                throw ToolFailure(description: "tincd \(pid) wrote no pidfile or no Ready line within 10 s")
            }
            usleep(10_000)
        }
        if detached, let daemon = pidfilePid() { pid = daemon }
    }

    /// Reaps tincd after the test killed it (it is this process's child).
    public func reap() {
        guard pid > 0, !detached else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }

    /// SIGCONT (it may be stopped), SIGTERM, then reaps it (at most 5 s, then SIGKILL).
    public func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGCONT)
        if detached {
            kill(pid, SIGTERM)
            // Not our child: gone, or a zombie its parent has not reaped yet.
            let deadline = ContinuousClock.now + .seconds(5)
            while kill(pid, 0) == 0, !((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") ?? false) {
                if ContinuousClock.now >= deadline {
                    kill(pid, SIGKILL)
                    break
                }
                usleep(10_000)
            }
            pid = 0
            return
        }
        Spawn.terminateAndReap(pid)
        pid = 0
    }
}
