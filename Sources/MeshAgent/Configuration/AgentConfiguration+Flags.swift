extension AgentConfiguration {
    /// The settings flags of a command line, in order, as `(key, value)` for `apply`:
    /// `--key value`, `--key=value`, and `--key` / `--no-key` for a toggle. A list
    /// setting's repeats are gathered into one list; for the others the last one wins.
    public static func parseFlags(_ arguments: [String]) throws(ConfigError) -> [(key: String, value: ConfigValue)] {
        var out: [(key: String, value: ConfigValue)] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            guard argument.hasPrefix("--"), argument.count > 2 else { throw .commandLine("unexpected argument '\(argument)'") }
            let body = argument.dropFirst(2)
            let name = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let inline = body.count > name.count ? String(body.dropFirst(name.count + 1)) : nil
            let (setting, negated) = try flagSetting(String(name))
            let value: String
            switch (setting.kind, inline) {
            case (.toggle, nil):
                value = negated ? "false" : "true"
            case (.toggle, let text?):
                guard !negated else { throw .commandLine("--\(name) takes no value") }
                value = text
            case (_, let text?):
                value = text
            case (_, nil):
                // A value may start with one dash (-1), never with two: that is the next flag.
                guard i < arguments.count, !arguments[i].hasPrefix("--") else {
                    throw .commandLine("--\(name) needs a value (\(setting.valueName))")
                }
                value = arguments[i]
                i += 1
            }
            if setting.kind == .list, let at = out.firstIndex(where: { $0.key == setting.key }), case let .list(items) = out[at].value {
                out[at].value = .list(items + [value])
            } else {
                out.append((setting.key, setting.kind == .list ? .list([value]) : .scalar(value)))
            }
        }
        return out
    }

    /// Applies parsed flags on top of this configuration; errors name the flag.
    public mutating func apply(flags: [(key: String, value: ConfigValue)]) throws(ConfigError) {
        for (key, value) in flags { try apply(key, value, from: .flag(key)) }
    }

    /// The setting a flag name (without `--`) sets, and whether it is a `no-` toggle.
    private static func flagSetting(_ name: String) throws(ConfigError) -> (Setting, negated: Bool) {
        if let s = settings.first(where: { $0.key == name }) { return (s, false) }
        if name.hasPrefix("no-"), let s = settings.first(where: { $0.kind == .toggle && $0.key == name.dropFirst(3) }) { return (s, true) }
        throw .commandLine("unknown option '--\(name)'")
    }
}
