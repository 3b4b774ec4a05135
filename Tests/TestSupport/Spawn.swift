import Foundation
import Glibc
import XCTest

/// Starts daemons for tests with posix_spawn, not Foundation's Process: a daemonizing child
/// would inherit Process's exit-watch socket, and waitUntilExit would never return. Test threads
/// block most signals and ignore SIGPIPE; a spawned child inherits both, so both are reset
/// (a daemon with SIGTERM blocked would never stop).
public enum Spawn {
    /// Runs `arguments`; stdin is /dev/null and stdout/stderr go to `output` (inherited when nil).
    /// With `wait`, waits for it to exit (a daemon that forks) and throws `ToolFailure` on a failure:
    /// a daemon that does not start fails the test.
    @discardableResult
    public static func run(_ arguments: [String], output: String? = nil, wait: Bool) throws -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ)
        guard spawned == 0 else { throw ToolFailure(description: "cannot start \(arguments[0]): posix_spawn: \(String(cString: strerror(spawned)))") }
        if wait {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            guard status == 0 else {
                let said = output.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
                throw ToolFailure(description: "\(arguments.joined(separator: " ")) exited with wait status \(status)\(said.isEmpty ? "" : ":\n" + said)")
            }
        }
        return pid
    }

    /// SIGTERM to a child of this process, then reaps it (at most 5 s, then SIGKILL).
    public static func terminateAndReap(_ pid: pid_t) {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(5)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
    }
}
