import Foundation

/// Every failure of the lab layer, each with the context an operator needs to act on it.
public enum LabError: Error, CustomStringConvertible, LocalizedError, Sendable {
    case notRoot
    case netnsUnavailable(String)
    case missingTool(name: String, package: String)
    case commandFailed(command: String, status: Int32, stderr: String)
    case commandTimedOut(command: String, seconds: Double)
    case spawnFailed(command: String, reason: String)
    case daemonDidNotStart(kind: String, node: String, log: String, lastLine: String)
    case missingAgentBinary(path: String)
    case noLab(stateDir: String)
    case labAlreadyRunning(String)
    case unknownNode(String)
    case invalidArgument(String)
    case notReady(what: String, seconds: Double, missing: [String])
    case io(path: String, reason: String)
    case unixSocketPathTooLong(String)

    public var description: String {
        switch self {
        case .notRoot:
            return "the lab needs root (network namespaces, veth, tun); run it with sudo or as root"
        case .netnsUnavailable(let why):
            return "network namespaces are not usable here: \(why)"
        case .missingTool(let name, let package):
            return "\(name) not found; install it with scripts/install-deps.sh (Debian package \(package))"
        case .commandFailed(let command, let status, let stderr):
            let err = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                .split(separator: "\n").last.map(String.init) ?? ""
            return "`\(command)` exited with status \(status)" + (err.isEmpty ? "" : ": \(err)")
        case .commandTimedOut(let command, let seconds):
            return "`\(command)` did not finish within \(Self.fmt(seconds)) s and was killed"
        case .spawnFailed(let command, let reason):
            return "could not start `\(command)`: \(reason)"
        case .daemonDidNotStart(let kind, let node, let log, let lastLine):
            return "\(kind) on \(node) did not start; see \(log)" + (lastLine.isEmpty ? "" : " (last line: \(lastLine))")
        case .missingAgentBinary(let path):
            return "agent binary \(path) does not exist; build it with `swift build -c release --product bgpmesh-agent`, pass --agent-binary PATH, or run with --no-agents"
        case .noLab(let stateDir):
            return "no lab is running (no state in \(stateDir)); start one with `bgpmesh-lab up`"
        case .labAlreadyRunning(let what):
            return "a lab is already running (\(what)); run `bgpmesh-lab down` first"
        case .unknownNode(let name):
            return "unknown node '\(name)'; use a name like node2 or its number (see `bgpmesh-lab status`)"
        case .invalidArgument(let why):
            return why
        case .notReady(let what, let seconds, let missing):
            let shown = missing.prefix(12).joined(separator: "; ")
            let more = missing.count > 12 ? "; and \(missing.count - 12) more" : ""
            return "\(what) not reached within \(Self.fmt(seconds)) s: \(shown)\(more)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .unixSocketPathTooLong(let path):
            return "control socket path \(path) is longer than 107 bytes; use a shorter --state-dir"
        }
    }

    public var errorDescription: String? { description }

    static func fmt(_ s: Double) -> String { String(format: "%.1f", s) }
}
