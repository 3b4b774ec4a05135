import ArgumentParser
import MeshAgent

/// The options shared by `run`, `check-config` and `scrape-once`: the config file,
/// and every setting as a flag. The settings flags come from the settings table
/// (`AgentConfiguration.settings`), so they are read here rather than declared one by
/// one; `--help` lists them from the same table (`SettingsReference.help`).
struct AgentOptions: ParsableArguments {
    @Option(name: .customLong("config.file"), help: ArgumentHelp("YAML config file; flags win over it.", valueName: "path"))
    var configFile: String?

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings flags, listed above.", valueName: "setting flags"))
    var settingFlags: [String] = []

    /// A flag that is no setting, or lacks its value, is a usage error (exit 64), as for
    /// any other option; a bad value is found by `resolve()`.
    func validate() throws {
        do { _ = try AgentConfiguration.parseFlags(settingFlags) } catch { throw ValidationError(error.description) }
    }

    /// Defaults, then the file, then the flags.
    func resolve() throws(ConfigError) -> AgentConfiguration {
        let flags = try AgentConfiguration.parseFlags(settingFlags)
        var config = AgentConfiguration()
        if let configFile { config = try AgentConfiguration.load(file: configFile) }
        try config.apply(flags: flags)
        return config
    }
}
