/// Why bytes from tincd or from a tinc configuration file could not be turned into a model.
/// Each case names what was being parsed and carries the offending line (or a short excerpt).
public enum TincParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line of a dump (`node`, `edge`, `subnet`, `connection`, `device`, `control`) does not
    /// have the shape tinc's format string gives it.
    case malformedLine(kind: String, line: String, reason: String)
    /// A pidfile that holds no pid (tinc 1.0: `pid`; tinc 1.1: `pid cookie host port P`).
    case malformedPidfile(content: String, reason: String)
    /// A configuration line tincd itself would refuse (e.g. `No value for variable`).
    case malformedConfig(file: String, line: Int, reason: String)
    /// A PEM or DER public key that is not a valid RSA public key.
    case invalidPublicKey(reason: String)
    /// A name that is not `[A-Za-z0-9_]+` (tinc's `check_id`).
    case invalidNodeName(String)

    public var description: String {
        switch self {
        case .malformedLine(let kind, let line, let reason):
            "malformed tinc \(kind) line (\(reason)): \(Self.excerpt(line).debugDescription)"
        case .malformedPidfile(let content, let reason):
            "malformed tinc pidfile (\(reason)): \(Self.excerpt(content).debugDescription)"
        case .malformedConfig(let file, let line, let reason):
            "\(file) line \(line): \(reason)"
        case .invalidPublicKey(let reason):
            "invalid RSA public key: \(reason)"
        case .invalidNodeName(let name):
            "invalid tinc node name \(Self.excerpt(name).debugDescription): only A-Z, a-z, 0-9 and _ are allowed"
        }
    }

    /// At most 160 characters of untrusted text, so an error never carries a whole file.
    public static func excerpt(_ text: String) -> String {
        text.count <= 160 ? text : String(text.prefix(160)) + "…"
    }
}
