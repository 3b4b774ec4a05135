/// Why a configuration (file or flags) was refused. Each case names where it came from.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid YAML.
    case syntax(path: String, line: Int?, reason: String)
    /// A key that the agent does not know.
    case unknownKey(key: String, source: String, line: Int?)
    /// A key with a value of the wrong shape or out of range.
    case invalidValue(key: String, value: String, source: String, line: Int?, reason: String)
    /// Settings that are valid one by one but make no sense together.
    case inconsistent(String)
    /// A command-line argument that is no setting flag, or a flag without its value.
    case commandLine(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read config file \(path): \(reason)"
        case let .syntax(path, line, reason):
            return "config file \(path)\(Self.at(line)): invalid YAML: \(reason)"
        case let .unknownKey(key, source, line):
            return "\(source)\(Self.at(line)): unknown key \"\(key)\""
        case let .invalidValue(key, value, source, line, reason):
            return "\(source)\(Self.at(line)): invalid value \"\(value)\" for \(key): \(reason)"
        case let .inconsistent(reason):
            return "invalid configuration: \(reason)"
        case let .commandLine(reason):
            return reason
        }
    }

    private static func at(_ line: Int?) -> String {
        line.map { " line \($0)" } ?? ""
    }
}
