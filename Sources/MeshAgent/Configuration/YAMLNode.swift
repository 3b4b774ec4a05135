import CYAML

/// A YAML document as the config file reader needs it, composed from libyaml's
/// parser events: scalars keep their text, style and line, mappings their pairs
/// in file order. Aliases are kept as such (the reader refuses them).
indirect enum YAMLNode {
    case scalar(String, plain: Bool, tag: String?, line: Int)
    case sequence([YAMLNode], line: Int)
    case mapping([(key: YAMLNode, value: YAMLNode)], line: Int)
    case alias(line: Int)

    /// 1-based line where the node starts.
    var line: Int {
        switch self {
        case let .scalar(_, _, _, line), let .sequence(_, line), let .mapping(_, line), let .alias(line): line
        }
    }

    /// The text of a scalar; nil for other nodes.
    var string: String? {
        if case let .scalar(text, _, _, _) = self { return text }
        return nil
    }

    /// YAML 1.1's null: a plain `~`, `null`, `Null`, `NULL` or nothing at all, or an explicit `!!null` tag.
    var isNull: Bool {
        guard case let .scalar(text, plain, tag, _) = self else { return false }
        if tag == "tag:yaml.org,2002:null" { return true }
        return plain && tag == nil && ["", "~", "null", "Null", "NULL"].contains(text)
    }

    struct SyntaxError: Error, Equatable {
        /// 1-based, when libyaml knows it.
        var line: Int?
        var reason: String
    }

    /// The one document of `text`, or nil when it holds none (empty, or only comments).
    static func compose(_ text: String) throws(SyntaxError) -> YAMLNode? {
        let bytes = Array(text.utf8)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { throw SyntaxError(line: nil, reason: "libyaml: out of memory") }
        defer { yaml_parser_delete(parser) }
        return try bytes.withUnsafeBufferPointer { (input) throws(SyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(parser, input.baseAddress, input.count)
            var composer = Composer(parser: parser)
            return try composer.stream()
        }
    }

    /// Recursive descent over the event stream.
    private struct Composer {
        let parser: UnsafeMutablePointer<yaml_parser_t>

        /// One event, copied out of libyaml's struct (which is freed at once).
        enum Event {
            case streamStart, streamEnd, documentStart(line: Int), documentEnd, alias(line: Int)
            case scalar(String, plain: Bool, tag: String?, line: Int)
            case sequenceStart(line: Int), sequenceEnd, mappingStart(line: Int), mappingEnd
        }

        mutating func next() throws(SyntaxError) -> Event {
            var event = yaml_event_t()
            guard yaml_parser_parse(parser, &event) == 1 else {
                let p = parser.pointee
                let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = p.context.map { String(cString: $0) }
                let reason = [context, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
                throw SyntaxError(line: Int(p.problem_mark.line) + 1, reason: reason)
            }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_STREAM_START_EVENT: return .streamStart
            case YAML_STREAM_END_EVENT: return .streamEnd
            case YAML_DOCUMENT_START_EVENT: return .documentStart(line: line)
            case YAML_DOCUMENT_END_EVENT: return .documentEnd
            case YAML_ALIAS_EVENT: return .alias(line: line)
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
                let tag = s.tag.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                return .scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE, tag: tag, line: line)
            case YAML_SEQUENCE_START_EVENT: return .sequenceStart(line: line)
            case YAML_SEQUENCE_END_EVENT: return .sequenceEnd
            case YAML_MAPPING_START_EVENT: return .mappingStart(line: line)
            case YAML_MAPPING_END_EVENT: return .mappingEnd
            default: throw SyntaxError(line: line, reason: "unexpected YAML event \(event.type.rawValue)")
            }
        }

        mutating func stream() throws(SyntaxError) -> YAMLNode? {
            guard case .streamStart = try next() else { throw SyntaxError(line: nil, reason: "no YAML stream") }
            switch try next() {
            case .streamEnd:
                return nil
            case .documentStart:
                let root = try node(try next())
                guard case .documentEnd = try next() else { throw SyntaxError(line: root.line, reason: "unterminated document") }
                switch try next() {
                case .streamEnd: return root
                case let .documentStart(line): throw SyntaxError(line: line, reason: "a config file holds one YAML document, this is a second")
                default: throw SyntaxError(line: nil, reason: "unexpected content after the document")
                }
            default:
                throw SyntaxError(line: nil, reason: "no YAML document")
            }
        }

        mutating func node(_ event: Event) throws(SyntaxError) -> YAMLNode {
            switch event {
            case let .scalar(text, plain, tag, line):
                return .scalar(text, plain: plain, tag: tag, line: line)
            case let .alias(line):
                return .alias(line: line)
            case let .sequenceStart(line):
                var items: [YAMLNode] = []
                while true {
                    let e = try next()
                    if case .sequenceEnd = e { break }
                    items.append(try node(e))
                }
                return .sequence(items, line: line)
            case let .mappingStart(line):
                var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                while true {
                    let e = try next()
                    if case .mappingEnd = e { break }
                    let key = try node(e)
                    let value = try node(try next())
                    if let text = key.string, pairs.contains(where: { $0.key.string == text }) {
                        throw SyntaxError(line: key.line, reason: "duplicate key \(text)")
                    }
                    pairs.append((key, value))
                }
                return .mapping(pairs, line: line)
            default:
                throw SyntaxError(line: nil, reason: "unexpected YAML structure")
            }
        }
    }
}
