import Foundation
import Glibc

/// A tincd 1.0 stand-in for tests of the real binary: a shell script named `tincd` (so its
/// /proc comm is `tincd`) that holds its log open and, like tincd, appends the graph dump
/// (Nodes, Edges, Subnet list) on SIGUSR2 and the Connections block on SIGUSR1, replayed from
/// a captured log and stamped with its own pid. It writes its pid to `pidfile`.
public final class FakeTincd {
    public let directory: String
    public var logPath: String { directory + "/tinc.log" }
    public var pidfile: String { directory + "/tinc.pid" }
    public private(set) var pid: pid_t = 0

    /// `capture`: a tincd log holding one USR2 dump followed by one USR1 dump.
    public init(capture: String) throws {
        directory = "/tmp/bgpmesh-faketincd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: capture, encoding: .utf8)
        // Every captured line is `date time tinc.<net>[<pid>]: ...`; the placeholder takes the stand-in's pid.
        guard let first = text.split(separator: "\n").first, let open = first.firstIndex(of: "["),
              let close = first[open...].firstIndex(of: "]") else {
            throw ToolFailure(description: "\(capture) does not start with a tincd log line")
        }
        let stamped = text.replacingOccurrences(of: String(first[open...close]), with: "[@PID@]")
        let lines = stamped.split(separator: "\n", omittingEmptySubsequences: false)
        guard let split = lines.firstIndex(where: { $0.hasSuffix("]: Connections:") }) else {
            throw ToolFailure(description: "\(capture) holds no Connections block (the USR1 dump)")
        }
        try (lines[..<split].joined(separator: "\n") + "\n").write(toFile: directory + "/usr2.txt", atomically: true, encoding: .utf8)
        try (lines[split...].joined(separator: "\n").trimmingCharacters(in: .newlines) + "\n")
            .write(toFile: directory + "/usr1.txt", atomically: true, encoding: .utf8)
        try Self.script.write(toFile: directory + "/tincd", atomically: true, encoding: .utf8)
        chmod(directory + "/tincd", 0o755)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the stand-in and waits (at most 5 s) for its pidfile.
    public func start() throws {
        pid = try Spawn.run([directory + "/tincd", "-n", "bgpmesh", "--logfile=\(logPath)", "--pidfile=\(pidfile)"],
                            output: directory + "/tincd.out", wait: false)
        let deadline = ContinuousClock.now + .seconds(5)
        while !FileManager.default.fileExists(atPath: pidfile) {
            guard ContinuousClock.now < deadline else {
                throw ToolFailure(description: "the tincd stand-in wrote no pidfile within 5 s")
            }
            usleep(10_000)
        }
    }

    /// SIGTERM, then reaps it (at most 5 s, then SIGKILL).
    public func stop() {
        Spawn.terminateAndReap(pid)
        pid = 0
    }

    /// `wait` returns early for a trapped signal, so the loop keeps the shell alive until TERM.
    static let script = """
    #!/bin/sh
    # A tincd 1.0 stand-in written by the tests (TestSupport/FakeTincd.swift).
    log=; pidfile=
    for a in "$@"; do
        case "$a" in --logfile=*) log=${a#--logfile=} ;; --pidfile=*) pidfile=${a#--pidfile=} ;; esac
    done
    dir=$(dirname "$0")
    exec 3>>"$log"
    trap 'sed "s/\\[@PID@\\]/[$$]/" "$dir/usr2.txt" >&3' USR2
    trap 'sed "s/\\[@PID@\\]/[$$]/" "$dir/usr1.txt" >&3' USR1
    trap 'kill $child 2>/dev/null; exit 0' TERM
    sleep 86400 & child=$!
    echo $$ > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
    while kill -0 $child 2>/dev/null; do wait $child; done

    """
}
