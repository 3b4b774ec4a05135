import Foundation
import Glibc
@testable import TincControl

/// A stand-in for tincd 1.0 behind the client's process probe: "signals" make it append the
/// captured dump blocks (re-stamped with its pid) to a log file, misbehaving on request.
final class FakeTincDaemon: @unchecked Sendable {
    enum Behavior {
        case normal
        /// Writes nothing (a deadlocked or very slow tincd).
        case silent
        /// Another process writes lines between tincd's lines.
        case interleaved
        /// The log is truncated (copytruncate) just before tincd writes.
        case truncateBeforeWriting
        /// Writes only the first half of the dump (tincd died or the log got cut).
        case halfDump
    }

    let pid: Int32 = 424_242
    let logPath: String
    private let lock = NSLock()
    private var behaviorValue = Behavior.normal
    private var signalsValue: [Int32] = []
    private var aliveValue = true
    private var commandValue = "tincd"
    private var arguments: [String]
    /// The file tincd "has open"; after a rename rotation it keeps the old one.
    private var openPath: String
    private let usr2: [String]
    private let usr1: [String]

    init(logPath: String) throws {
        self.logPath = logPath
        openPath = logPath
        arguments = ["tincd", "-n", "bgpmesh", "-D", "--logfile=\(logPath)", "--pidfile=/tmp/x.pid"]
        let capture = try Fixture.text("tinc10-node1-usr2-usr1-all-reachable.log").replacingOccurrences(of: "[23094]", with: "[424242]")
        let lines = capture.split(separator: "\n").map(String.init)
        let split = lines.firstIndex { $0.hasSuffix("Connections:") }!
        usr2 = Array(lines[..<split])
        usr1 = Array(lines[split...])
        _ = FileManager.default.createFile(atPath: logPath, contents: Data("2026-11-30 08:40:00 tinc.bgpmesh[424242]: Ready\n".utf8))
    }

    var behavior: Behavior {
        get { lock.withLock { behaviorValue } }
        set { lock.withLock { behaviorValue = newValue } }
    }

    var signals: [Int32] { lock.withLock { signalsValue } }
    var alive: Bool {
        get { lock.withLock { aliveValue } }
        set { lock.withLock { aliveValue = newValue } }
    }
    var command: String {
        get { lock.withLock { commandValue } }
        set { lock.withLock { commandValue = newValue } }
    }
    func setArguments(_ value: [String]) { lock.withLock { arguments = value } }

    /// logrotate without copytruncate: the file is renamed, a new empty one created; tincd keeps
    /// writing the renamed file until HUP.
    func rotateByRename() throws {
        try lock.withLock {
            try FileManager.default.moveItem(atPath: logPath, toPath: logPath + ".1")
            _ = FileManager.default.createFile(atPath: logPath, contents: Data())
            openPath = logPath + ".1"
        }
    }

    var probe: TincProcessProbe {
        TincProcessProbe(
            isAlive: { [self] pid in pid == self.pid && alive },
            commandName: { [self] pid in pid == self.pid && alive ? command : nil },
            commandLine: { [self] pid in lock.withLock { pid == self.pid ? arguments : nil } },
            signal: { [self] pid, number in
                guard pid == self.pid, alive else { return ESRCH }
                handle(number)
                return 0
            },
            openFiles: { [self] _ in lock.withLock { [openPath, "/dev/net/tun"] } })
    }

    private func handle(_ number: Int32) {
        let (behavior, path) = lock.withLock {
            signalsValue.append(number)
            return (behaviorValue, openPath)
        }
        var lines: [String]
        switch number {
        case SIGUSR2: lines = usr2
        case SIGUSR1: lines = usr1
        case SIGHUP: lines = ["2026-11-30 08:40:58 tinc.bgpmesh[424242]: Got HUP signal"]
        case SIGALRM: lines = ["2026-11-30 08:40:58 tinc.bgpmesh[424242]: Got ALRM signal"]
        default: lines = []
        }
        switch behavior {
        case .normal: break
        case .silent: lines = []
        case .halfDump: lines = Array(lines.prefix(lines.count / 2))
        case .truncateBeforeWriting: truncate(path, 0)
        case .interleaved:
            lines = lines.flatMap { [$0, "2026-11-30 08:40:58 other[77]: unrelated", "garbage without a prefix"] }
        }
        // Written in two pieces after the signal returns, as a real daemon's log grows.
        let text = lines.map { $0 + "\n" }.joined()
        let cut = text.utf8.count / 2
        let bytes = Array(text.utf8)
        DispatchQueue.global().async {
            Self.append(bytes[..<cut], to: path)
            usleep(30_000)
            Self.append(bytes[cut...], to: path)
        }
    }

    private static func append(_ bytes: ArraySlice<UInt8>, to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
