import POSIXSupport

/// Whether a process is the tincd of one net: its executable (or, for a wrapper script, its
/// command name) is tincd, and its command line names this net or this configuration
/// directory. tincd 1.0.36 takes `-n NET`/`--net=NET` and `-c DIR`/`--config=DIR`
/// (`getopt_long(..., "c:DLd::k::n:o:K::RU:")`); `-c` wins over `-n` for the configuration,
/// and without either tincd reads /etc/tinc.
public struct TincProcessIdentity: Sendable, Equatable {
    public var net: String?
    public var configDirectory: String?

    /// Parses tincd's argv (as in /proc/PID/cmdline; the first element is the program).
    public init(arguments: [String]) {
        for (name, value) in TincProcessIdentity.options(arguments) {
            if name == "n" || name == "net" { net = value }
            if name == "c" || name == "config" { configDirectory = value }
        }
    }

    /// tincd 1.0.36's options, as getopt_long reads them.
    static func options(_ arguments: [String]) -> [(name: String, value: String?)] {
        CommandLineOptions.parse(arguments, shortWithArgument: ["c", "n", "o", "U"], shortOptional: ["d", "k", "K"],
                                 longWithArgument: ["net", "config", "pidfile", "option", "user"])
    }

    /// nil when these arguments run the net `net` from `directory`; otherwise why not.
    /// `workingDirectory` resolves a relative `-c`; `resolve` is realpath(3).
    public func mismatch(net expectedNet: String, directory: String, workingDirectory: String?,
                         resolve: (String) -> String? = ProcessInspection.realPath) -> String? {
        let wanted = resolve(directory) ?? directory
        if let configDirectory {
            let absolute = configDirectory.hasPrefix("/") ? configDirectory : (workingDirectory ?? "") + "/" + configDirectory
            let resolved = resolve(absolute) ?? absolute
            return resolved == wanted ? nil : "its configuration directory is \(resolved), not \(wanted)"
        }
        if let net {
            return net == expectedNet ? nil : "it runs net \(net.debugDescription), not \(expectedNet.debugDescription)"
        }
        return wanted == "/etc/tinc" ? nil : "its command line names no net and no configuration directory (so /etc/tinc), not \(wanted)"
    }
}
