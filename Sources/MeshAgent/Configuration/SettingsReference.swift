/// `--help`'s settings section and docs/configuration.md, both made from `AgentConfiguration.settings`.
public enum SettingsReference {
    /// How to rewrite docs/configuration.md; the reference test prints it when the file is stale.
    public static let regenerateCommand = "swift run bgpmesh-agent config-reference > docs/configuration.md"

    /// The settings section of `--help`: each flag, then its help and default wrapped
    /// to `width` columns (ArgumentParser wraps again at its own width, a little under 80).
    public static func help(width: Int = 76) -> String {
        var lines = wrap("Settings: each flag below is also a key of the YAML file given by --config.file, under the same "
            + "dotted name (as nested mappings or dotted keys); flags win over the file. Durations look like 500ms, 10s, "
            + "1m30s. The reference is docs/configuration.md.", width: width, indent: "")
        for s in AgentConfiguration.settings {
            lines.append("")
            lines.append("  \(s.flagUsage)")
            lines += wrap("\(s.help) (default: \(s.defaultText))", width: width, indent: "      ")
        }
        return lines.joined(separator: "\n")
    }

    /// docs/configuration.md.
    public static func markdown() -> String {
        var out = """
            # Configuration reference

            <!-- Generated from the settings table (Sources/MeshAgent/Configuration/AgentConfiguration+Settings.swift). \
            Do not edit; regenerate with: \(regenerateCommand) -->

            Every setting is a command-line flag and a key of the YAML file given by
            `--config.file <path>`, under the same dotted name. Nested mappings and dotted
            keys are the same thing: `web: {listen-address: [":10179"]}` and
            `web.listen-address: [":10179"]` set the same key. Flags win over the file, and
            the file wins over the defaults.

            - A key the agent does not know is an error that names the key and its line, and
              so is a key set twice (in any spelling) or a YAML alias.
            - A bad value is refused with one line naming the key, the value and why:
              `bgpmesh-agent check-config --config.file <path>` checks a file (and flags)
              without starting anything.
            - Lists (marked *list*) take a YAML list or one value; on the command line,
              repeat the flag.
            - Switches (marked *switch*) are `--key` and `--no-key` on the command line
              (`--key=false` also works) and `true` or `false` in YAML. Where the key column
              also names `<key>.enabled`, YAML takes that spelling too, so a section can be
              switched off next to its other keys: `collector: {bird: {enabled: false}}`.
            - Durations look like `500ms`, `10s`, `1m30s`, `1h`; a bare number is seconds.

            Each command's own flags (`--config.file`; `scrape-once --format`) are listed by
            `bgpmesh-agent <command> --help`, together with these.

            Example (`agent.yml`):

            ```yaml
            web:
              listen-address: ["192.0.2.1:10179", "127.0.0.1:10179"]
            log:
              level: info
              format: json
            collector:
              timeout: 5s
              process: true
              bird:
                socket: /run/bird/bird.ctl
            etcd:
              endpoints: ["http://192.0.2.11:2379", "http://192.0.2.12:2379"]
            ```

            """
        var sections: [(name: String, rows: [Setting])] = []
        for s in AgentConfiguration.settings {
            let parts = s.key.split(separator: ".")
            let section = parts.prefix(parts.count > 2 ? 2 : 1).joined(separator: ".")
            if sections.last?.name == section { sections[sections.count - 1].rows.append(s) } else { sections.append((section, [s])) }
        }
        for (name, rows) in sections {
            out += "\n## `\(name)`\n\n| key | flag | default | meaning |\n|---|---|---|---|\n"
            for s in rows {
                var key = "`\(s.key)`"
                if s.enabledAlias { key += " or `\(s.key).enabled`" }
                switch s.kind {
                case .value: break
                case .list: key += " (*list*)"
                case .toggle: key += " (*switch*)"
                }
                let meaning = [s.help, s.notes, s.range.map { "Allowed: \($0)." }].compactMap { $0 }.joined(separator: " ")
                // A value is code; what an unset optional means ("none, ...") is prose.
                let isValue = s.show(AgentConfiguration()) != nil || !(s.defaultText.contains(" ") || s.defaultText == "none")
                let value = isValue ? "`\(cell(s.defaultText))`" : cell(prose: s.defaultText)
                out += "| \(key) | `\(cell(s.flagUsage))` | \(value) | \(cell(prose: meaning)) |\n"
            }
        }
        return out
    }

    /// A table cell: `|` escaped (also inside code spans, as GitHub's tables need).
    private static func cell(_ text: String) -> String {
        text.replacingAll("|", with: "\\|")
    }

    /// Prose in a table cell: `<name>` outside code spans would read as HTML.
    private static func cell(prose text: String) -> String {
        var out = ""
        var inCode = false
        for c in text {
            switch c {
            case "`": inCode.toggle(); out.append(c)
            case "|": out += "\\|"
            case "<" where !inCode: out += "&lt;"
            case ">" where !inCode: out += "&gt;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Greedy word wrap; a word longer than the line stands alone.
    static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count, line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        if line.count > indent.count { lines.append(line) }
        return lines
    }
}

private extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
