/// One row of the settings table (`AgentConfiguration.settings`): a key of the YAML
/// file and the flag of the same name, its help, its default (read from the
/// `AgentConfiguration` property it sets) and how its value is checked.
public struct Setting: Sendable {
    /// How the value is written on the command line and in YAML.
    public enum Kind: Sendable, Equatable {
        /// `--key value` or `--key=value`; YAML `key: value`.
        case value
        /// Like `.value`, but the flag repeats and YAML takes a list.
        case list
        /// `--key` / `--no-key` (or `--key=false`); YAML `key: true|false`.
        case toggle
    }

    /// The dotted name: the YAML key and, with `--`, the flag.
    public let key: String
    public let kind: Kind
    /// What the value looks like in `--help`: `duration`, `path`, `n`.
    public let valueName: String
    /// One sentence, shown by `--help` and in the reference.
    public let help: String
    /// More for docs/configuration.md only.
    public let notes: String?
    /// YAML also takes `<key>.enabled`, so a section can be switched off next to its other keys.
    public let enabledAlias: Bool
    /// The values allowed beyond the type, for the reference: `0 to 64`.
    public let range: String?
    /// For a collector's switch: the collector's name and whether it is on by default.
    let collector: (name: String, on: Bool)?
    /// What an unset optional means (`/etc/tinc/<net>`); nil for settings that always hold a value.
    let unsetText: String?
    let store: @Sendable (inout AgentConfiguration, ValueParser) throws(ConfigError) -> Void
    let show: @Sendable (AgentConfiguration) -> String?

    /// The default as `--help` and the reference print it.
    public var defaultText: String {
        show(AgentConfiguration()) ?? unsetText ?? "none"
    }

    /// The flag spelling(s): `--key <value>`, or `--key/--no-key` for a toggle.
    public var flagUsage: String {
        kind == .toggle ? "--\(key)/--no-\(key)" : "--\(key) <\(valueName)>"
    }

    /// Parses `value` and stores it; errors name `key` as written and the source.
    func apply(to config: inout AgentConfiguration, key written: String, value: ConfigValue,
               from source: ConfigSource) throws(ConfigError) {
        try store(&config, ValueParser(key: written, value: value, source: source))
    }

    /// The general row: `parse` turns the raw value into the property's type; `show`
    /// prints a value of it (nil for "unset").
    static func make<V>(_ key: String, _ kind: Kind, _ valueName: String, _ property: WritableKeyPath<AgentConfiguration, V> & Sendable,
                        help: String, notes: String? = nil, unset: String? = nil, enabledAlias: Bool = false, range: String? = nil,
                        show: @escaping @Sendable (V) -> String?,
                        parse: @escaping @Sendable (ValueParser) throws(ConfigError) -> V) -> Setting {
        Setting(key: key, kind: kind, valueName: valueName, help: help, notes: notes, enabledAlias: enabledAlias, range: range,
                collector: nil, unsetText: unset,
                store: { (config, parser) throws(ConfigError) in config[keyPath: property] = try parse(parser) },
                show: { show($0[keyPath: property]) })
    }
}

// The row builders the table uses, one per value type.
extension Setting {
    /// A duration such as `500ms`, `10s`, `1m30s`: above zero unless `allowZero`, and within `range` when given.
    static func duration(_ key: String, _ property: WritableKeyPath<AgentConfiguration, Duration> & Sendable, help: String,
                         notes: String? = nil, allowZero: Bool = false, within range: ClosedRange<Duration>? = nil) -> Setting {
        let allowed = range.map { "\(DurationSyntax.format($0.lowerBound)) to \(DurationSyntax.format($0.upperBound))" }
        return make(key, .value, "duration", property, help: help, notes: notes, range: allowed,
                    show: { DurationSyntax.format($0) }) { (p) throws(ConfigError) in
            let d = try p.duration(allowZero: allowZero)
            if let range, !range.contains(d) {
                throw p.invalid("must be between \(DurationSyntax.format(range.lowerBound)) and \(DurationSyntax.format(range.upperBound))")
            }
            return d
        }
    }

    static func int(_ key: String, _ property: WritableKeyPath<AgentConfiguration, Int> & Sendable, in range: ClosedRange<Int>,
                    valueName: String = "n", help: String, notes: String? = nil) -> Setting {
        make(key, .value, valueName, property, help: help, notes: notes, range: "\(range.lowerBound) to \(range.upperBound)",
             show: { "\($0)" }) { (p) throws(ConfigError) in
            try p.int(in: range)
        }
    }

    static func toggle(_ key: String, _ property: WritableKeyPath<AgentConfiguration, Bool> & Sendable, help: String,
                       notes: String? = nil, enabledAlias: Bool = false) -> Setting {
        make(key, .toggle, "bool", property, help: help, notes: notes, enabledAlias: enabledAlias,
             show: { $0 ? "true" : "false" }) { (p) throws(ConfigError) in try p.bool() }
    }

    /// A file path that may stay unset; `unset` says what unset means.
    static func path(_ key: String, _ property: WritableKeyPath<AgentConfiguration, String?> & Sendable, help: String,
                     notes: String? = nil, unset: String = "none") -> Setting {
        make(key, .value, "path", property, help: help, notes: notes, unset: unset, show: { $0 }) { (p) throws(ConfigError) in
            try p.path()
        }
    }

    static func path(_ key: String, _ property: WritableKeyPath<AgentConfiguration, String> & Sendable, help: String,
                     notes: String? = nil) -> Setting {
        make(key, .value, "path", property, help: help, notes: notes, show: { $0 }) { (p) throws(ConfigError) in try p.path() }
    }

    /// Free text; `check` returns why a value is refused, or nil.
    static func text(_ key: String, _ property: WritableKeyPath<AgentConfiguration, String> & Sendable, valueName: String,
                     help: String, notes: String? = nil, check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Setting {
        make(key, .value, valueName, property, help: help, notes: notes, show: { $0 }) { (p) throws(ConfigError) in
            let s = try p.scalar()
            if let problem = check(s) { throw p.invalid(problem) }
            return s
        }
    }

    static func text(_ key: String, _ property: WritableKeyPath<AgentConfiguration, String?> & Sendable, valueName: String,
                     help: String, notes: String? = nil, unset: String = "none",
                     check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Setting {
        make(key, .value, valueName, property, help: help, notes: notes, unset: unset, show: { $0 }) { (p) throws(ConfigError) in
            let s = try p.scalar()
            if let problem = check(s) { throw p.invalid(problem) }
            return s
        }
    }

    /// One of an enum's raw values, in any case.
    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ property: WritableKeyPath<AgentConfiguration, E> & Sendable, help: String, notes: String? = nil
    ) -> Setting where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return make(key, .value, names.joined(separator: "|"), property, help: help, notes: notes,
                    show: { $0.rawValue }) { (p) throws(ConfigError) in
            guard let value = E(rawValue: try p.scalar().lowercased()) else {
                throw p.invalid("expected one of " + names.joined(separator: ", "))
            }
            return value
        }
    }

    /// A list: repeat the flag, or give a YAML list (one value is a list of one). `item`
    /// turns one entry into the element type, or returns why it is refused.
    static func list<E>(_ key: String, _ property: WritableKeyPath<AgentConfiguration, [E]> & Sendable, valueName: String,
                        help: String, notes: String? = nil, show: @escaping @Sendable (E) -> String,
                        splitCommas: Bool = false,
                        item: @escaping @Sendable (String) -> Result<E, ItemProblem>) -> Setting {
        make(key, .list, valueName, property, help: help, notes: notes, unset: "none",
             show: { $0.isEmpty ? nil : $0.map(show).joined(separator: ", ") }) { (p) throws(ConfigError) in
            var raw = try p.list()
            if splitCommas { raw = raw.flatMap { $0.split(separator: ",").map(String.init) } }
            var out: [E] = []
            for entry in raw {
                switch item(entry) {
                case let .success(e): out.append(e)
                case let .failure(problem): throw p.invalid(problem.reason, item: entry)
                }
            }
            return out
        }
    }

    /// Why one list entry was refused.
    struct ItemProblem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
