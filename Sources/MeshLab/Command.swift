import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output of a finished child process.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }
}

/// Runs external tools (ip, tincd, birdc, etcdctl, curl) with a deadline, and spawns daemons detached.
public enum Command {
    static let searchPath = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    /// Absolute path of a tool, or nil.
    public static func which(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        var dirs = searchPath
        if let env = ProcessInfo.processInfo.environment["PATH"] {
            dirs = env.split(separator: ":").map(String.init) + dirs
        }
        for dir in dirs where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// Shell-like rendering of an argv, for messages.
    public static func render(_ argv: [String]) -> String {
        argv.map { arg in
            arg.isEmpty || arg.contains(where: { " \t'\"$;&|<>*?".contains($0) }) ? "'\(arg)'" : arg
        }.joined(separator: " ")
    }

    /// Runs argv to completion. Output goes to temporary files, so a chatty child never blocks on a pipe.
    @discardableResult
    public static func run(_ argv: [String], timeout: Double = 15, check: Bool = false,
                           environment: [String: String]? = nil) throws(LabError) -> CommandResult {
        precondition(!argv.isEmpty)
        guard let exe = which(argv[0]) else {
            throw .missingTool(name: argv[0], package: ToolPackages.package(for: argv[0]))
        }
        let tmp = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        let outURL = tmp.appendingPathComponent("bml-\(id).out")
        let errURL = tmp.appendingPathComponent("bml-\(id).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = Array(argv.dropFirst())
        if let environment { p.environment = environment }
        p.standardInput = FileHandle.nullDevice
        guard let outH = FileHandle(forWritingAtPath: outURL.path),
              let errH = FileHandle(forWritingAtPath: errURL.path) else {
            throw .io(path: tmp.path, reason: "cannot create temporary files")
        }
        p.standardOutput = outH
        p.standardError = errH
        do { try p.run() } catch {
            throw .spawnFailed(command: render(argv), reason: "\(error)")
        }
        try? outH.close()
        try? errH.close()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while p.isRunning {
            if Date() >= deadline {
                timedOut = true
                p.terminate()
                let killAt = Date().addingTimeInterval(1)
                while p.isRunning && Date() < killAt { usleep(5_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(2_000)
        }
        p.waitUntilExit()
        if timedOut { throw .commandTimedOut(command: render(argv), seconds: timeout) }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let result = CommandResult(status: p.terminationStatus, stdout: out, stderr: err)
        if check && !result.succeeded {
            throw .commandFailed(command: render(argv), status: result.status, stderr: err.isEmpty ? out : err)
        }
        return result
    }

    /// Starts a long-running daemon in its own session, with stdio sent to `log`, and returns its pid.
    /// A `sh` wrapper writes `$$` to `pidfile` and then execs the daemon, so the pid is the daemon's own.
    public static func spawnDaemon(_ argv: [String], netns: String?, pidfile: String, log: String,
                                   environment: [String: String] = [:]) throws(LabError) -> Int32 {
        guard let exe = which(argv[0]) else {
            throw .missingTool(name: argv[0], package: ToolPackages.package(for: argv[0]))
        }
        try? FileManager.default.removeItem(atPath: pidfile)
        let script = #"echo $$ > "$0"; log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null"#
        var full: [String] = []
        if let netns { full += ["/usr/sbin/ip", "netns", "exec", netns] }
        full += [which("setsid") ?? "/usr/bin/setsid", "/bin/sh", "-c", script, pidfile, log, exe]
        full += argv.dropFirst()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: full[0])
        p.arguments = Array(full.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .spawnFailed(command: render(argv), reason: "\(error)")
        }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let pid = readPid(pidfile) { return pid }
            usleep(5_000)
        }
        throw .spawnFailed(command: render(argv), reason: "no pid written to \(pidfile) within 5 s")
    }

    /// The pid in a pidfile, if the file holds one.
    public static func readPid(_ path: String) -> Int32? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// True when the process exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("Z") || rest.hasPrefix("X") { return false }
        }
        return true
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL. Returns true if the process is gone.
    @discardableResult
    public static func stop(_ pid: Int32, grace: Double = 5) -> Bool {
        guard isAlive(pid) else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        let killDeadline = Date().addingTimeInterval(2)
        while Date() < killDeadline {
            if !isAlive(pid) { return true }
            usleep(10_000)
        }
        return !isAlive(pid)
    }
}

/// Collects results from concurrent workers.
final class ResultsBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [T?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.lock(); values[i] = v; lock.unlock() }
    func snapshot() -> [T?] { lock.lock(); defer { lock.unlock() }; return values }
}

/// Debian package for each external tool, for error messages; scripts/install-deps.sh installs them.
public enum ToolPackages {
    public static func package(for tool: String) -> String {
        switch (tool as NSString).lastPathComponent {
        case "ip", "tc", "bridge": return "iproute2"
        case "tincd": return "tinc"
        case "bird", "birdc": return "bird2"
        case "etcd": return "etcd-server"
        case "etcdctl": return "etcd-client"
        case "prometheus", "promtool": return "prometheus"
        case "prometheus-alertmanager", "amtool": return "prometheus-alertmanager"
        case "curl": return "curl"
        case "setsid": return "util-linux"
        default: return tool
        }
    }
    /// Tools `up` needs before it touches anything.
    public static let required = ["ip", "tincd", "bird", "birdc", "etcd", "etcdctl", "prometheus",
                                  "prometheus-alertmanager", "curl", "setsid"]
}
