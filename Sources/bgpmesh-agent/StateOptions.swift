import ArgumentParser
import MeshAgent

/// Where the trust commands find the pins: the same `--config.file` and `--state.dir` as
/// `run`, resolved the same way (defaults, then the file, then the flag), so `trust` acts on
/// the state directory of the agent started with that configuration.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("config.file"), help: ArgumentHelp("The agent's YAML config file, to take state.dir from.", valueName: "path"))
    var configFile: String?

    @Option(name: .customLong("state.dir"), help: ArgumentHelp("The agent's state directory; wins over the file (default /var/lib/bgpmesh).",
                                                             valueName: "path"))
    var stateDir: String?

    /// Defaults, then the file, then `--state.dir`, through the settings table like every other flag.
    func resolve() throws(ConfigError) -> AgentConfiguration {
        var config = AgentConfiguration()
        if let configFile { config = try AgentConfiguration.load(file: configFile) }
        if let stateDir { try config.apply(flags: try AgentConfiguration.parseFlags(["--state.dir=" + stateDir])) }
        return config
    }
}
