/// Turns a raw `ConfigValue` into a typed one, with errors that name the key and source.
struct ValueParser {
    let key: String
    let value: ConfigValue
    let source: ConfigSource

    /// The error for this value, or for one `item` of a list.
    func invalid(_ reason: String, item: String? = nil) -> ConfigError {
        .invalidValue(key: key, value: item ?? value.display, source: source.name, line: source.line, reason: reason)
    }

    func scalar() throws(ConfigError) -> String {
        guard case let .scalar(s) = value else { throw invalid("expected a single value, not a list") }
        return s
    }

    func list() throws(ConfigError) -> [String] {
        switch value {
        case let .scalar(s): return [s]
        case let .list(items):
            guard !items.isEmpty else { throw invalid("the list is empty") }
            return items
        }
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let n = Int(try scalar()) else { throw invalid("expected an integer") }
        guard range.contains(n) else { throw invalid("must be between \(range.lowerBound) and \(range.upperBound)") }
        return n
    }

    func bool() throws(ConfigError) -> Bool {
        switch try scalar().lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw invalid("expected true or false")
        }
    }

    func path() throws(ConfigError) -> String {
        let p = try scalar()
        guard !p.isEmpty, !p.contains("\0") else { throw invalid("expected a file path") }
        return p
    }

    func duration(allowZero: Bool = false) throws(ConfigError) -> Duration {
        guard let d = DurationSyntax.parse(try scalar()) else {
            throw invalid("expected a duration such as 500ms, 10s, 1m30s")
        }
        guard d > .zero || allowZero else { throw invalid("must be greater than zero") }
        return d
    }
}
