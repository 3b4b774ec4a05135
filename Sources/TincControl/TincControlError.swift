import POSIXSupport

/// Everything that can go wrong talking to a running tincd, by signal and log (1.0) or by the
/// control socket (1.1). Each case names the file, pid or request, and carries the errno.
public enum TincControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The pidfile cannot be read (ENOENT: tincd not running or another --pidfile).
    case pidfile(path: String, call: String, errno: Int32)
    /// The pidfile is not a regular file, or larger than a pidfile can be.
    case pidfileRefused(path: String, reason: String)
    /// The pidfile holds no pid.
    case malformedPidfile(path: String, TincParseError)
    /// The pidfile names a pid that does not exist (a stale pidfile of a dead tincd).
    case notRunning(pid: Int32, pidfile: String)
    /// The pid exists but is not tincd (pid reused after tincd died); it is never signalled.
    case notTincd(pid: Int32, command: String)
    /// The pid is a tincd, but of another net or configuration directory; it is never signalled.
    case otherNet(pid: Int32, detail: String)
    /// tincd logs to syslog or stderr/journald: the 1.0 dumps cannot be read. Everything that
    /// does not need a dump (interface, configuration, host files) still works.
    case logNotAFile(pid: Int32, destination: TincLogDestination)
    /// The pidfile is another tinc version's: a 1.1 pidfile (with a cookie) for the 1.0 client,
    /// or a 1.0 pidfile for the control-socket client.
    case wrongVersion(pidfile: String, expected: String, found: String)
    /// The log file cannot be opened, stat'ed or read.
    case log(path: String, call: String, errno: Int32)
    /// kill(2) failed (EPERM: not root and not tincd's user).
    case signal(pid: Int32, signal: String, errno: Int32)
    /// The dump did not appear in the log in time; `missing` lists the blocks not seen complete.
    case dumpTimeout(signal: String, pid: Int32, logfile: String, after: Duration, missing: [String], bytesRead: Int)
    /// tincd writes to another file than the configured log path (the log was renamed by a
    /// rotation and tincd, which reopens its log only on HUP, still writes the old one).
    case logRotated(path: String, detail: String)
    /// tincd exited while it was dumping.
    case daemonExited(pid: Int32, during: String)
    /// A HUP or ALRM not sent: the same tincd did not answer the last signal within the dump
    /// timeout (hung or stopped), so another wait would only delay the caller.
    case unanswered(pid: Int32, signal: String)
    /// Another process holds the cross-process signal lock for too long.
    case lockTimeout(path: String, after: Duration)
    /// Connecting to the 1.1 control socket failed.
    case connect(path: String, call: String, errno: Int32)
    /// send, recv or poll failed on the control socket.
    case io(request: String, call: String, errno: Int32)
    /// A control request did not complete within its deadline.
    case timeout(request: String, after: Duration)
    /// tincd closed the control connection before the reply was complete.
    case closed(request: String, receivedBytes: Int)
    /// The greeting was not `0 NAME VERSION` + `4 0 PID` (wrong cookie: tincd just closes).
    case handshake(path: String, reason: String)
    /// A reply line that does not parse.
    case malformed(request: String, TincParseError)
    /// tincd answered a reload/retry/purge with a non-zero result.
    case daemon(request: String, result: Int)
    /// The reply grew beyond the configured limit.
    case tooLarge(request: String, limit: Int)
    /// A socket path that does not fit `sockaddr_un`, is empty or has a NUL byte.
    case invalidPath(UnixSocketAddress.PathError)

    public var description: String {
        switch self {
        case .pidfile(let path, let call, let code):
            "cannot read tincd's pidfile \(path): \(Syscall.errorText(code, call: call))"
        case .pidfileRefused(let path, let reason):
            "cannot read tincd's pidfile \(path): \(reason)"
        case .malformedPidfile(let path, let error):
            "\(path): \(error)"
        case .notRunning(let pid, let pidfile):
            "tincd is not running: pid \(pid) from \(pidfile) does not exist (stale pidfile)"
        case .notTincd(let pid, let command):
            "pid \(pid) is \(command.debugDescription), not tincd (stale pidfile, pid reused); not signalling it"
        case .otherNet(let pid, let detail):
            "pid \(pid) is a tincd of another net (\(detail)); not signalling it"
        case .logNotAFile(let pid, let destination):
            "tincd (pid \(pid)) logs to \(destination), not to a file, so its node, edge, subnet and connection dumps cannot be read; start it with --logfile=FILE (interface, configuration and host-file metrics still work)"
        case .wrongVersion(let pidfile, let expected, let found):
            "\(pidfile) is a tinc \(found) pidfile, expected tinc \(expected)"
        case .log(let path, let call, let code):
            "cannot read tincd's log \(path): \(Syscall.errorText(code, call: call))"
        case .signal(let pid, let signal, let code):
            "cannot send \(signal) to tincd pid \(pid): \(Syscall.errorText(code, call: "kill"))"
        case .dumpTimeout(let signal, let pid, let logfile, let after, let missing, let bytes):
            "tincd pid \(pid) did not dump \(missing.joined(separator: ", ")) into \(logfile) within \(after) of \(signal) (\(bytes) new bytes read)"
        case .logRotated(let path, let detail):
            "tincd's log \(path) was rotated: \(detail)"
        case .daemonExited(let pid, let during):
            "tincd pid \(pid) exited during \(during)"
        case .unanswered(let pid, let signal):
            "\(signal) not sent: tincd pid \(pid) did not answer its last signal within the dump timeout (hung or stopped)"
        case .lockTimeout(let path, let after):
            "the tincd signal lock \(path) was held by another process for more than \(after)"
        case .connect(let path, let call, let code):
            "cannot connect to tincd's control socket \(path): \(Syscall.errorText(code, call: call))"
        case .io(let request, let call, let code):
            "tinc control request \"\(request)\" failed: \(Syscall.errorText(code, call: call))"
        case .timeout(let request, let after):
            "tinc control request \"\(request)\" timed out after \(after)"
        case .closed(let request, let received):
            "tincd closed the control connection during \"\(request)\" after \(received) bytes"
        case .handshake(let path, let reason):
            "tinc control handshake on \(path) failed: \(reason)"
        case .malformed(let request, let error):
            "malformed reply to tinc control request \"\(request)\": \(error)"
        case .daemon(let request, let result):
            "tincd answered \"\(request)\" with error \(result)"
        case .tooLarge(let request, let limit):
            "reply to tinc control request \"\(request)\" exceeds \(limit) bytes"
        case .invalidPath(let error):
            "invalid tinc control socket path: \(error)"
        }
    }
}
