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
    /// Finds and kills a hung tincd (checked to be this net's).
    let tincd: TincDaemonClient?
    /// Finds and kills a hung BIRD (the one serving our socket).
    let birdProcess: BIRDProcessLocator?
    let birdRestartCommand: String?

    public init(registry: RegistrySync?, reloader: TincReloader?, bird: BIRDClient?, restartCommand: String?,
                commandTimeout: Duration = .seconds(30), tincd: TincDaemonClient? = nil, birdProcess: BIRDProcessLocator? = nil,
                birdRestartCommand: String? = nil) {
        self.registry = registry
        self.reloader = reloader
        self.bird = bird
        self.restartCommand = restartCommand
        self.commandTimeout = commandTimeout
        self.tincd = tincd
        self.birdProcess = birdProcess
        self.birdRestartCommand = birdRestartCommand
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
            case .restartHungTincd:
                guard let restartCommand else { return .failure(Failure(description: "repair.tincd-restart-command is not set")) }
                guard let tincd else { return .failure(Failure(description: "the tinc collector is off")) }
                return try await killThenRun(restartCommand, daemon: "tincd", nobody: "no tincd of this net was running") {
                    try await tincd.killVerified()
                }
            case .restartBIRD:
                guard let birdRestartCommand else { return .failure(Failure(description: "repair.bird-restart-command is not set")) }
                return try await runCommand(birdRestartCommand).map { "ran \($0)" }
            case .restartHungBIRD:
                guard let birdRestartCommand else { return .failure(Failure(description: "repair.bird-restart-command is not set")) }
                guard let birdProcess else { return .failure(Failure(description: "the BIRD collector is off")) }
                return try await killThenRun(birdRestartCommand, daemon: "BIRD", nobody: "no BIRD of our socket was running") {
                    try await birdProcess.killVerified()
                }
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

    /// The hung-daemon rung: `kill` (SIGKILL to the checked pid), then the restart command.
    func killThenRun(_ command: String, daemon: String, nobody: String,
                     kill: () async throws -> Int32?) async throws -> Result<String, Failure> {
        let what = try await kill().map { "SIGKILL to hung \(daemon) \($0), " } ?? nobody + ", "
        return try await runCommand(command).map { what + "ran \($0)" }
    }

    /// `/bin/sh -c command` through `CommandRunner`: default signal dispositions, an empty mask,
    /// its own process group (killed as a whole after `commandTimeout`), stdin from /dev/null,
    /// and its output (bounded) in the result.
    func runCommand(_ command: String) async throws -> Result<String, Failure> {
        let described = command.debugDescription
        switch await CommandRunner.run(["/bin/sh", "-c", command], timeout: commandTimeout) {
        case .failure(let error):
            return .failure(Failure(description: "cannot run \(described): \(error)"))
        case .success(let outcome):
            let said = outcome.outputText.isEmpty ? "" : ": " + outcome.outputText
            switch outcome.termination {
            case .exited(0): return .success(described + said)
            case .exited(let code): return .failure(Failure(description: "\(described) exited with \(code)\(said)"))
            case .signalled(let signal): return .failure(Failure(description: "\(described) was killed by signal \(signal)\(said)"))
            case .timedOut:
                return .failure(Failure(description: "\(described) did not finish within \(DurationSyntax.format(commandTimeout)); its process group was killed\(said)"))
            }
        }
    }
}
