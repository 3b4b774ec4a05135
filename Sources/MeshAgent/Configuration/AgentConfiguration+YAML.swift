import Foundation
import Yams

extension AgentConfiguration {
    /// Reads a YAML config file on top of the defaults.
    ///
    /// Nested mappings and dotted keys are the same thing: `web: {listen-address: ...}`
    /// and `web.listen-address: ...` both set the `--web.listen-address` flag's key.
    public static func load(file path: String, base: AgentConfiguration = AgentConfiguration()) throws(ConfigError) -> AgentConfiguration {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let s = String(data: data, encoding: .utf8) else {
                throw ConfigError.unreadable(path: path, reason: "not UTF-8 text")
            }
            text = s
        } catch let error as ConfigError {
            throw error
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
        return try parse(yaml: text, path: path, base: base)
    }

    /// Parses YAML text; `path` only names the source in errors.
    public static func parse(yaml: String, path: String, base: AgentConfiguration = AgentConfiguration()) throws(ConfigError) -> AgentConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw .syntax(path: path, line: Self.line(of: error), reason: Self.summary(of: error))
        } catch {
            throw .syntax(path: path, line: nil, reason: "\(error)")
        }
        var config = base
        guard let root else { return config } // an empty file keeps the defaults
        guard case let .mapping(mapping) = root else {
            throw .syntax(path: path, line: root.mark?.line, reason: "the top level must be a mapping of keys to values")
        }
        try config.apply(mapping: mapping, prefix: "", path: path)
        return config
    }

    private mutating func apply(mapping: Node.Mapping, prefix: String, path: String) throws(ConfigError) {
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.string, !name.isEmpty else {
                throw .syntax(path: path, line: keyNode.mark?.line, reason: "keys must be non-empty strings")
            }
            let key = prefix + name
            let source = ConfigSource(path, line: keyNode.mark?.line)
            switch valueNode {
            case let .mapping(inner):
                try apply(mapping: inner, prefix: key + ".", path: path)
            case let .sequence(sequence):
                var items: [String] = []
                for item in sequence {
                    guard case let .scalar(scalar) = item else {
                        throw .invalidValue(key: key, value: "…", source: path, line: item.mark?.line,
                                            reason: "list items must be plain values")
                    }
                    items.append(scalar.string)
                }
                try apply(key, .list(items), from: source)
            case let .scalar(scalar):
                if valueNode.null != nil {
                    throw .invalidValue(key: key, value: "", source: path, line: source.line, reason: "a value is required")
                }
                try apply(key, .scalar(scalar.string), from: source)
            case .alias:
                throw .syntax(path: path, line: source.line, reason: "YAML aliases are not supported")
            }
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        case let .duplicatedKeysInMapping(_, context):
            return context.mark.line
        default:
            return nil
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        case let .duplicatedKeysInMapping(duplicates, _):
            return "duplicate key " + duplicates.joined(separator: ", ")
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }

    private static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let message = strerror(Int32(underlying.code)) {
            return String(cString: message)
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError: return "No such file or directory"
            case NSFileReadNoPermissionError: return "Permission denied"
            default: break
            }
        }
        return ns.localizedDescription
    }
}
