/// A raw setting before it is typed: a scalar or a list of scalars, from YAML or a flag.
public enum ConfigValue: Sendable, Equatable {
    case scalar(String)
    case list([String])

    var display: String {
        switch self {
        case let .scalar(s): return s
        case let .list(items): return "[" + items.joined(separator: ", ") + "]"
        }
    }
}

/// Where a setting came from, for error messages: `config.yml line 12` or `flag --log.level`.
public struct ConfigSource: Sendable, Equatable {
    public var name: String
    public var line: Int?

    public init(_ name: String, line: Int? = nil) {
        self.name = name
        self.line = line
    }

    public static func flag(_ key: String) -> ConfigSource { ConfigSource("flag --\(key)") }
}
