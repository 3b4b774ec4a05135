import POSIXSupport
/// Everything that can go wrong talking to BIRD's control socket. Each case names the socket
/// path or the command it happened to, and carries the errno, reply code or offending line.
public enum BIRDControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// socket(2) or connect(2) failed (ENOENT: BIRD not running, EACCES, ECONNREFUSED, ...).
    case connect(path: String, call: String, errno: Int32)
    /// send, recv or poll failed on an established connection.
    case io(command: String, call: String, errno: Int32)
    /// The command's deadline passed (connecting, sending, or waiting for the reply).
    case timeout(command: String, after: Duration)
    /// BIRD closed the connection before the reply was complete.
    case closed(command: String, receivedBytes: Int)
    /// A line that breaks the protocol; the connection is dropped.
    case malformed(command: String, line: String)
    /// The reply grew beyond the configured limit; the connection is dropped.
    case tooLarge(command: String, limit: Int)
    /// BIRD answered with a run-time (8xxx) or parse-time (9xxx) error, e.g. `8007 Access
    /// denied`, `8003 No protocols match`, `9001 syntax error, ...`. The connection stays usable.
    case daemon(code: Int, text: String, command: String)
    /// A reply other than the protocol requires: no `0001` banner, or no `0016` after `restrict`.
    case unexpectedReply(command: String, code: Int, text: String)
    /// The reply arrived but does not parse as the answer to this command.
    case unparsable(command: String, reason: String)
    /// The command or an argument cannot be sent safely (newline, quote, empty name, ...).
    case invalidArgument(String)
    /// A socket path that does not fit `sockaddr_un` (107 bytes), is empty or contains a NUL byte.
    case invalidPath(UnixSocketAddress.PathError)

    public var description: String {
        switch self {
        case .connect(let path, let call, let code):
            "cannot connect to BIRD at \(path): \(Syscall.errorText(code, call: call))"
        case .io(let command, let call, let code):
            "BIRD command \"\(command)\" failed: \(Syscall.errorText(code, call: call))"
        case .timeout(let command, let after):
            "BIRD command \"\(command)\" timed out after \(after)"
        case .closed(let command, let received):
            "BIRD closed the connection during \"\(command)\" after \(received) bytes of the reply"
        case .malformed(let command, let line):
            "malformed reply from BIRD to \"\(command)\": \(line.debugDescription)"
        case .tooLarge(let command, let limit):
            "reply from BIRD to \"\(command)\" exceeds \(limit) bytes"
        case .daemon(let code, let text, let command):
            "BIRD refused \"\(command)\": \(String(format4: code)) \(text)"
        case .unexpectedReply(let command, let code, let text):
            "unexpected reply from BIRD to \"\(command)\": \(String(format4: code)) \(text)"
        case .unparsable(let command, let reason):
            "cannot parse the reply from BIRD to \"\(command)\": \(reason)"
        case .invalidArgument(let reason):
            "invalid BIRD command: \(reason)"
        case .invalidPath(let error):
            "invalid BIRD control socket path: \(error)"
        }
    }
}
