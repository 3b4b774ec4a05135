/// The content of tincd's pidfile. tinc 1.0 writes `PID\n` (pidfile.c); tinc 1.1 writes
/// `PID COOKIE HOST port PORT\n` (control.c init_control), the cookie authenticating the control socket.
public struct TincPidfile: Sendable, Hashable {
    public var pid: Int32
    /// tinc 1.1 only: 64 hex digits.
    public var cookie: String?
    /// tinc 1.1 only: the first listening socket (`127.0.0.1` for 0.0.0.0).
    public var address: TincSocketAddress?

    public init(pid: Int32, cookie: String? = nil, address: TincSocketAddress? = nil) {
        self.pid = pid
        self.cookie = cookie
        self.address = address
    }

    /// True when the file has the 1.1 control fields.
    public var isTinc11: Bool { cookie != nil }

    /// Parses the pidfile as tinc's readers do (`fscanf("%20ld")`, `"%20d %1024s %128s port %128s"`).
    public init(parsing text: String) throws(TincParseError) {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        guard let first = tokens.first else { throw .malformedPidfile(content: text, reason: "empty") }
        guard first.utf8.count <= 10, let pid = Int32(first), pid > 0 else {
            throw .malformedPidfile(content: text, reason: "no positive pid")
        }
        if tokens.count >= 5, tokens[3] == "port" {
            let cookie = tokens[1]
            guard cookie.utf8.count <= 1024, cookie.utf8.allSatisfy({ Self.isHex($0) }) else {
                throw .malformedPidfile(content: text, reason: "cookie is not hexadecimal")
            }
            self.init(pid: pid, cookie: String(cookie), address: TincSocketAddress(host: String(tokens[2]), port: String(tokens[4])))
        } else if tokens.count == 1 {
            self.init(pid: pid)
        } else {
            throw .malformedPidfile(content: text, reason: "neither `PID` (1.0) nor `PID COOKIE HOST port PORT` (1.1)")
        }
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
    }
}

/// Where a running tincd writes its log, as its command line decides (1.0.36 tincd.c,
/// process.c detach): `--logfile[=FILE]` writes FILE (default `/var/log/tinc.NET.log`);
/// otherwise `-D`/`--no-detach` logs to stderr (under systemd: the journal) and a detached
/// tincd logs to syslog.
public enum TincLogDestination: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case stderr
    case syslog

    public var description: String {
        switch self {
        case .file(let path): "the file \(path)"
        case .stderr: "stderr (the journal, under systemd)"
        case .syslog: "syslog"
        }
    }

    /// Decides from tincd's argv (as in /proc/PID/cmdline). `localStateDirectory` is tinc's
    /// LOCALSTATEDIR (`/var` on Debian).
    public static func from(arguments: [String], localStateDirectory: String = "/var") -> TincLogDestination {
        var logfile: String?
        var useLogfile = false
        var detach = true
        var netname: String?
        for (name, value) in TincProcessIdentity.options(arguments) {
            switch name {
            case "logfile": useLogfile = true; logfile = value.flatMap { $0.isEmpty ? nil : $0 }
            case "no-detach", "D": detach = false
            case "net", "n": netname = value
            default: continue
            }
        }
        if useLogfile {
            let ident = netname.map { "tinc.\($0)" } ?? "tinc"
            return .file(logfile ?? "\(localStateDirectory)/log/\(ident).log")
        }
        return detach ? .syslog : .stderr
    }
}
