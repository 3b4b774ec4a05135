import CLinux
import Glibc
import Synchronization

/// Runs a command the way a service manager would: default signal dispositions and an empty
/// signal mask (the agent's threads block and ignore signals, and posix_spawn would pass that
/// on), in a process group of its own, stdin from /dev/null, stdout and stderr captured up to a
/// bound. On timeout the whole group gets SIGTERM, then SIGKILL after a grace period. Nothing
/// spins: one detached thread blocks in waitpid, another in poll(2) on the output and on a pipe
/// the first one closes when the command has exited.
public enum CommandRunner {
    public struct Outcome: Sendable, Equatable {
        public enum Termination: Sendable, Equatable {
            case exited(Int32)
            case signalled(Int32)
            /// Did not finish by its deadline; its group was killed.
            case timedOut
        }

        public var termination: Termination
        /// stdout and stderr interleaved, at most the limit given to `run`.
        public var output: [UInt8]
        public var outputTruncated: Bool
        /// The command's pid, which is also its process group id.
        public var pid: Int32

        public var succeeded: Bool { termination == .exited(0) }

        /// The output as text, trimmed, for a log line or an error message.
        public var outputText: String {
            var text = String(decoding: output, as: UTF8.self)
            while let last = text.last, last.isWhitespace { text.removeLast() }
            return outputTruncated ? text + " …(truncated)" : text
        }
    }

    /// Runs `arguments` (an absolute path first, no PATH search) and waits, without blocking
    /// the caller's thread, until it exits or `timeout` passes.
    public static func run(_ arguments: [String], timeout: Duration, killGrace: Duration = .seconds(2),
                           outputLimit: Int = 8192) async -> Result<Outcome, SystemCallError> {
        await withCheckedContinuation { continuation in
            let spawned = DetachedThread.spawn(name: "cmd-run") {
                continuation.resume(returning: runBlocking(arguments, timeout: timeout, killGrace: killGrace, outputLimit: outputLimit))
            }
            if spawned != 0 { continuation.resume(returning: .failure(SystemCallError(call: "pthread_create", code: spawned))) }
        }
    }

    /// The blocking form of `run`: spawns from the calling thread and reads its output there,
    /// while a detached thread waits for the exit. For tests and tools; never call it from async code.
    public static func runBlocking(_ arguments: [String], timeout: Duration, killGrace: Duration = .seconds(2),
                                   outputLimit: Int = 8192) -> Result<Outcome, SystemCallError> {
        let child: Child
        switch start(arguments) {
        case .failure(let error): return .failure(error)
        case .success(let started): child = started
        }
        let done = Mutex<Int32?>(nil)
        let waiter = DetachedThread.spawn(name: "cmd-wait") {
            var status: Int32 = 0
            while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
            done.withLock { $0 = status }
            // Closing the write end wakes the reader's poll.
            _ = close(child.exitWrite)
        }
        guard waiter == 0 else {
            kill(-child.pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
            _ = close(child.exitWrite); _ = close(child.exitRead); _ = close(child.output)
            return .failure(SystemCallError(call: "pthread_create", code: waiter))
        }
        return .success(collect(child, timeout: timeout, killGrace: killGrace, limit: outputLimit) { done.withLock { $0 } })
    }

    struct Child {
        var pid: Int32
        /// Read end of stdout/stderr.
        var output: Int32
        /// Read end of the exit pipe: EOF once the waiter has reaped the command.
        var exitRead: Int32
        var exitWrite: Int32
    }

    static func start(_ arguments: [String]) -> Result<Child, SystemCallError> {
        guard let path = arguments.first, path.hasPrefix("/") else {
            return .failure(SystemCallError(call: "posix_spawn", code: ENOENT))
        }
        var outputPipe: [Int32] = [-1, -1]
        guard bgpmesh_pipe2(&outputPipe, O_CLOEXEC) == 0 else { return .failure(SystemCallError(call: "pipe2", code: errno)) }
        var exitPipe: [Int32] = [-1, -1]
        guard bgpmesh_pipe2(&exitPipe, O_CLOEXEC) == 0 else {
            let code = errno
            _ = close(outputPipe[0]); _ = close(outputPipe[1])
            return .failure(SystemCallError(call: "pipe2", code: code))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // dup2 clears FD_CLOEXEC on the copies; the originals close at exec.
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        _ = close(outputPipe[1])
        guard spawned == 0 else {
            _ = close(outputPipe[0]); _ = close(exitPipe[0]); _ = close(exitPipe[1])
            return .failure(SystemCallError(call: "posix_spawn", code: spawned))
        }
        return .success(Child(pid: pid, output: outputPipe[0], exitRead: exitPipe[0], exitWrite: exitPipe[1]))
    }

    /// Reads output until the command has exited or the deadline passes, then kills the group
    /// if it was late. Runs on its own thread; closes the read ends.
    static func collect(_ child: Child, timeout: Duration, killGrace: Duration, limit: Int,
                        status: () -> Int32?) -> Outcome {
        defer { _ = close(child.output); _ = close(child.exitRead) }
        var output: [UInt8] = []
        var truncated = false
        var outputOpen = true
        var buffer = [UInt8](repeating: 0, count: 4096)
        func drain(_ fd: Int32) -> Bool {
            let n = buffer.withUnsafeMutableBytes { raw in Syscall.retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
            guard n > 0 else { return false }
            let room = max(0, limit - output.count)
            output += buffer[0..<min(n, room)]
            if n > room { truncated = true }
            return true
        }
        /// Waits for the exit pipe (and reads output meanwhile) until `deadline`; true once exited.
        func waitForExit(until deadline: Deadline) -> Bool {
            while true {
                var fds = [pollfd(fd: child.exitRead, events: Int16(POLLIN), revents: 0)]
                if outputOpen { fds.append(pollfd(fd: child.output, events: Int16(POLLIN), revents: 0)) }
                let ready = poll(&fds, nfds_t(fds.count), deadline.remainingMilliseconds)
                if ready < 0 && errno == EINTR { continue }
                if fds.count > 1, fds[1].revents != 0, !drain(child.output) { outputOpen = false }
                if fds[0].revents != 0 { return true }
                if deadline.hasExpired { return false }
            }
        }
        var timedOut = false
        if !waitForExit(until: Deadline(after: timeout)) {
            timedOut = true
            kill(-child.pid, SIGTERM)
            if !waitForExit(until: Deadline(after: killGrace)) {
                kill(-child.pid, SIGKILL)
                _ = waitForExit(until: Deadline(after: .seconds(3600)))
            }
            // Whatever else of the group outlived its leader.
            kill(-child.pid, SIGKILL)
        }
        // What is already in the pipe; background children may hold it open, so no wait for EOF.
        let flags = fcntl(child.output, F_GETFL)
        _ = fcntl(child.output, F_SETFL, flags | O_NONBLOCK)
        while outputOpen, output.count < limit || !truncated, drain(child.output) {}
        let raw = status() ?? 0
        let termination: Outcome.Termination
        if timedOut {
            termination = .timedOut
        } else if raw & 0x7f == 0 {
            // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
            termination = .exited((raw >> 8) & 0xff)
        } else {
            termination = .signalled(raw & 0x7f)
        }
        return Outcome(termination: termination, output: output, outputTruncated: truncated, pid: child.pid)
    }
}
