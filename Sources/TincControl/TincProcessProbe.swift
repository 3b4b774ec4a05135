import POSIXSupport
import Glibc

/// How the 1.0 client looks at and signals a process. The default uses /proc and kill(2);
/// tests substitute a fake daemon.
struct TincProcessProbe: Sendable {
    /// True if the pid exists (kill(pid, 0) succeeds or fails with EPERM).
    var isAlive: @Sendable (Int32) -> Bool
    /// /proc/PID/comm (tincd's process name) and /proc/PID/cmdline; nil when unreadable.
    var commandName: @Sendable (Int32) -> String?
    var commandLine: @Sendable (Int32) -> [String]?
    /// kill(2): 0 or the errno.
    var signal: @Sendable (Int32, Int32) -> Int32
    /// Paths tincd has open (/proc/PID/fd/*), to notice a log that was rotated away; nil: unknown.
    var openFiles: @Sendable (Int32) -> [String]?
    /// The target of /proc/PID/exe (nil: unreadable, e.g. another user's process without privileges).
    var executable: @Sendable (Int32) -> String? = { _ in nil }
    /// The state letter of /proc/PID/stat (`R`, `S`, `T` stopped, `Z` zombie); nil: unreadable.
    var processState: @Sendable (Int32) -> Character? = { _ in nil }
    /// The target of /proc/PID/cwd, for a relative `-c`; nil: unreadable.
    var workingDirectory: @Sendable (Int32) -> String? = { _ in nil }

    static let system = TincProcessProbe(
        isAlive: { pid in kill(pid, 0) == 0 || errno == EPERM },
        commandName: { pid in
            guard let bytes = try? RegularFile.read("/proc/\(pid)/comm", limit: 4096) else { return nil }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        },
        commandLine: { pid in
            guard let bytes = try? RegularFile.read("/proc/\(pid)/cmdline", limit: 1 << 16) else { return nil }
            return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        },
        signal: { pid, number in kill(pid, number) == 0 ? 0 : errno },
        openFiles: { pid in procOpenFiles(pid) },
        executable: { pid in ProcessInspection.link("/proc/\(pid)/exe") },
        processState: { pid in ProcessInspection.state(pid) },
        workingDirectory: { pid in ProcessInspection.link("/proc/\(pid)/cwd") })
}

/// What the 1.0 client knows about the running tincd.
public struct TincDaemonInfo: Sendable, Hashable {
    public var pid: Int32
    public var pidfile: String
    /// Where tincd logs (from its command line, or the configured log file).
    public var logDestination: TincLogDestination
}
