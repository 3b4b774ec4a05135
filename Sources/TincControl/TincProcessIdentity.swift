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
        var index = 1
        let withArgument: Set<Character> = ["c", "n", "o", "U"]
        while index < arguments.count, index < 256 {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : nil
                if value == nil, ["net", "config", "pidfile", "option", "user"].contains(name), index < arguments.count {
                    value = arguments[index]
                    index += 1
                }
                if name == "net" { net = value }
                if name == "config" { configDirectory = value }
                continue
            }
            guard argument.hasPrefix("-"), argument.count > 1 else { continue }
            var characters = Array(argument.dropFirst())
            while !characters.isEmpty {
                let option = characters.removeFirst()
                guard withArgument.contains(option) else {
                    // -d, -k and -K take an optional argument glued to them.
                    if ["d", "k", "K"].contains(option) { characters = [] }
                    continue
                }
                var value: String?
                if !characters.isEmpty {
                    value = String(characters)
                } else if index < arguments.count {
                    value = arguments[index]
                    index += 1
                }
                if option == "n" { net = value }
                if option == "c" { configDirectory = value }
                characters = []
            }
        }
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
