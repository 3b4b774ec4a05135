import BIRDControl
import Foundation
import Glibc

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

    /// `/bin/sh -c command`, killed after `commandTimeout`; output goes to /dev/null.
    func runCommand(_ command: String) async throws -> Result<String, Failure> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + commandTimeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return .failure(Failure(description: "\(command.debugDescription) did not finish within \(DurationSyntax.format(commandTimeout))"))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard process.terminationStatus == 0 else {
            return .failure(Failure(description: "\(command.debugDescription) exited with \(process.terminationStatus)"))
        }
        return .success(command.debugDescription)
    }
}
