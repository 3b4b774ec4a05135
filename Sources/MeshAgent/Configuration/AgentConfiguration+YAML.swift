import POSIXSupport

extension AgentConfiguration {
    /// Reads a YAML config file on top of the defaults.
    ///
    /// Nested mappings and dotted keys are the same thing: `web: {listen-address: ...}`
    /// and `web.listen-address: ...` both set the `--web.listen-address` flag's key.
    public static func load(file path: String, base: AgentConfiguration = AgentConfiguration()) throws(ConfigError) -> AgentConfiguration {
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(path, limit: 16 << 20) } catch { throw .unreadable(path: path, reason: error.reason) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        return try parse(yaml: text, path: path, base: base)
    }

    /// Parses YAML text; `path` only names the source in errors.
    public static func parse(yaml: String, path: String, base: AgentConfiguration = AgentConfiguration()) throws(ConfigError) -> AgentConfiguration {
        let root: YAMLNode?
        do {
            root = try YAMLNode.compose(yaml)
        } catch {
            throw .syntax(path: path, line: error.line, reason: error.reason)
        }
        var config = base
        guard let root else { return config } // an empty file keeps the defaults
        guard case let .mapping(pairs, _) = root else {
            throw .syntax(path: path, line: root.line, reason: "the top level must be a mapping of keys to values")
        }
        var seen: [String: Int] = [:]
        try config.apply(mapping: pairs, prefix: "", path: path, seen: &seen)
        return config
    }

    /// `seen` maps each setting already set to its line: a setting set twice, say as
    /// `log.level` and as `log: {level: ...}`, is refused like a duplicate key.
    private mutating func apply(mapping: [(key: YAMLNode, value: YAMLNode)], prefix: String, path: String,
                                seen: inout [String: Int]) throws(ConfigError) {
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.string, !name.isEmpty else {
                throw .syntax(path: path, line: keyNode.line, reason: "keys must be non-empty strings")
            }
            let key = prefix + name
            let source = ConfigSource(path, line: keyNode.line)
            if case .mapping = valueNode {} else if let setting = Self.settingsByYAMLKey[key] {
                if let first = seen[setting.key] {
                    let also = key == setting.key ? "also on line \(first)" : "\(setting.key) is set on line \(first) too"
                    throw .syntax(path: path, line: keyNode.line, reason: "duplicate key \(key) (\(also))")
                }
                seen[setting.key] = keyNode.line
            }
            switch valueNode {
            case let .mapping(inner, _):
                try apply(mapping: inner, prefix: key + ".", path: path, seen: &seen)
            case let .sequence(sequence, _):
                var items: [String] = []
                for item in sequence {
                    guard case let .scalar(text, _, _, _) = item else {
                        throw .invalidValue(key: key, value: "…", source: path, line: item.line,
                                            reason: "list items must be plain values")
                    }
                    items.append(text)
                }
                try apply(key, .list(items), from: source)
            case let .scalar(text, _, _, _):
                if valueNode.isNull {
                    throw .invalidValue(key: key, value: "", source: path, line: source.line, reason: "a value is required")
                }
                try apply(key, .scalar(text), from: source)
            case .alias:
                throw .syntax(path: path, line: source.line, reason: "YAML aliases are not supported")
            }
        }
    }
}
