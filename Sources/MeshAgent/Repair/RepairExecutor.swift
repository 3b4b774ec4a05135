import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport
import TincControl

/// Carries repair actions out through the clients the agent already has. Each call is
/// bounded: BIRD's command deadline, tinc's signal pacing, and `commandTimeout` for the
/// restart command.
public struct RepairExecutor: Sendable {
    let registry: RegistrySync?
    let reloader: TincReloader?
    /// BIRD's unrestricted session, created only when repairs are enabled.
    let bird: BIRDClient?
    let restartCommand: String?
    let commandTimeout: Duration

    public init(registry: RegistrySync?, reloader: TincReloader?, bird: BIRDClient?, restartCommand: String?,
                commandTimeout: Duration = .seconds(30)) {
        self.registry = registry
        self.reloader = reloader
        self.bird = bird
        self.restartCommand = restartCommand
        self.commandTimeout = commandTimeout
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs one action; the string says what it did.
    public func run(_ action: RepairAction) async -> Result<String, Failure> {
        do {
            switch action {
            case .reinstallHostKeys:
                guard let registry else { return .failure(Failure(description: "no registry (etcd not configured)")) }
                let written = await registry.repairFiles(hostFiles: true, connectTo: false)
                return .success("\(written) host file(s) written, tincd reloaded")
            case .rewriteConnectTo:
                guard let registry else { return .failure(Failure(description: "no registry (etcd not configured)")) }
                let written = await registry.repairFiles(hostFiles: false, connectTo: true)
                return .success(written > 0 ? "conf.d/bgpmesh.conf written, tincd reloaded" : "conf.d/bgpmesh.conf already right")
            case .tincRetry:
                guard let reloader else { return .failure(Failure(description: "the tinc collector is off")) }
                try await reloader.retry()
                return .success("tincd retries its connections (ALRM)")
            case .tincReload:
                guard let reloader else { return .failure(Failure(description: "the tinc collector is off")) }
                try await reloader.reloadAndRetry()
                return .success("tincd reloaded (HUP, ALRM)")
            case .restartTincd:
                guard let restartCommand else { return .failure(Failure(description: "repair.tincd-restart-command is not set")) }
                return try await runCommand(restartCommand).map { "ran \($0)" }
            case .bgpRestart(let session):
                guard let bird else { return .failure(Failure(description: "the BIRD collector is off")) }
                let reply = try await bird.restart(protocol: session)
                guard !reply.isError else { return .failure(Failure(description: "birdc restart \(session): \(reply.finalText)")) }
                return .success("birdc restart \(session): \(reply.finalText)")
            }
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }

    /// `/bin/sh -c command` with stdin, stdout and stderr on /dev/null, killed after
    /// `commandTimeout`.
    func runCommand(_ command: String) async throws -> Result<String, Failure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = ["/bin/sh", "-c", command]
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, cArgs, environ)
        guard spawned == 0 else {
            return .failure(Failure(description: "cannot run \(command.debugDescription): \(Syscall.errorText(spawned, call: "posix_spawn"))"))
        }
        let deadline = ContinuousClock.now + commandTimeout
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { return .failure(Failure(description: Syscall.errorText(errno, call: "waitpid"))) }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return .failure(Failure(description: "\(command.debugDescription) did not finish within \(DurationSyntax.format(commandTimeout))"))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            return .failure(Failure(description: exited ? "\(command.debugDescription) exited with \(code)"
                                                        : "\(command.debugDescription) was killed by signal \(status & 0x7f)"))
        }
        return .success(command.debugDescription)
    }
}
