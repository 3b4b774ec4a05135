#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport
import Synchronization

/// Finds the BIRD that serves our control socket: a process whose executable (or command
/// name) is `bird` and whose command line's `-s SOCKET` (BIRD 2's getopt
/// `"B:c:dD:ps:P:u:g:flRh"`; without `-s`, the compiled-in default `/run/bird/bird.ctl` of
/// Debian's bird2) resolves to the configured socket. The pid found is kept and checked again
/// on every call (alive, not a zombie, still that BIRD); /proc is scanned only when it is gone,
/// and at most once per `rescanInterval`.
public final class BIRDProcessLocator: Sendable {
    public static let defaultSocket = "/run/bird/bird.ctl"
    static let names: Set<String> = ["bird", "bird2"]

    public let socketPath: String
    let rescanInterval: Duration
    private let memory = Mutex<(pid: Int32?, scannedAt: ContinuousClock.Instant?)>((nil, nil))
    private let seen = Mutex(false)

    public init(socketPath: String, rescanInterval: Duration = .seconds(1)) {
        self.socketPath = socketPath
        self.rescanInterval = rescanInterval
    }

    /// The pid of our BIRD, or nil when none runs.
    public func locate() -> Int32? {
        let (known, scannedAt) = memory.withLock { ($0.pid, $0.scannedAt) }
        if let known, isOurs(known) { return known }
        let now = ContinuousClock.now
        if known == nil, let scannedAt, now - scannedAt < rescanInterval { return nil }
        let found = ProcessInspection.allPids().first { isOurs($0) }
        memory.withLock { $0 = (found, now) }
        if found != nil { seen.withLock { $0 = true } }
        return found
    }

    /// Whether our BIRD runs, once one was ever found; nil before. A BIRD this agent cannot see
    /// (another pid namespace, a socket served by something else) is never called dead for it.
    public func running() -> Bool? {
        let found = locate() != nil
        return found || seen.withLock({ $0 }) ? found : nil
    }

    /// Alive, not a zombie, BIRD by executable or command name, serving `socketPath`.
    public func isOurs(_ pid: Int32) -> Bool {
        guard let name = ProcessInspection.commandName(pid) else { return false }
        let executable = ProcessInspection.executableName(pid)
        guard Self.names.contains(name) || executable.map(Self.names.contains) == true else { return false }
        guard ProcessInspection.isAlive(pid), let arguments = ProcessInspection.commandLine(pid) else { return false }
        let socket = Self.socket(arguments: arguments) ?? Self.defaultSocket
        let absolute = socket.hasPrefix("/") ? socket : (ProcessInspection.link("/proc/\(pid)/cwd") ?? "") + "/" + socket
        return Self.samePath(absolute, socketPath)
    }

    /// The `-s` argument of BIRD's command line, nil without one.
    static func socket(arguments: [String]) -> String? {
        CommandLineOptions.parse(arguments, shortWithArgument: ["B", "c", "D", "s", "P", "u", "g"])
            .last { $0.name == "s" }.flatMap(\.value)
    }

    static func samePath(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        return (ProcessInspection.realPath(a) ?? a) == (ProcessInspection.realPath(b) ?? b)
    }

    /// SIGKILL to our BIRD, checked just before, for a BIRD that accepts on its socket but does
    /// not answer. A stopped (SIGSTOP) process dies of SIGKILL without a SIGCONT. Waits until it
    /// is gone, at most `timeout`. Returns the pid killed, nil when no BIRD of ours ran.
    public func killVerified(timeout: Duration = .seconds(5)) async throws(SystemCallError) -> Int32? {
        guard let pid = locate() else { return nil }
        guard kill(pid, SIGKILL) == 0 else {
            if errno == ESRCH { return nil }
            throw SystemCallError(call: "kill", code: errno)
        }
        let deadline = ContinuousClock.now + timeout
        while ProcessInspection.isAlive(pid) {
            guard ContinuousClock.now < deadline else { throw SystemCallError(call: "kill SIGKILL (BIRD still there)", code: ETIMEDOUT) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        memory.withLock { $0 = (nil, nil) }
        return pid
    }
}
