/// A cursor over the space-separated tokens of one dump line, for the format-string parsers.
struct TincTokens {
    let kind: String
    let line: Substring
    private let tokens: [Substring]
    private(set) var index = 0

    init(_ line: Substring, kind: String) {
        self.kind = kind
        self.line = line
        // Split on the byte, not on Characters: grapheme breaking costs more than the parse.
        tokens = line.utf8.split(separator: 0x20, omittingEmptySubsequences: true).map { Substring($0) }
    }

    var isAtEnd: Bool { index >= tokens.count }
    var remaining: Int { tokens.count - index }
    var peek: Substring? { index < tokens.count ? tokens[index] : nil }

    func fail(_ reason: String) -> TincParseError {
        .malformedLine(kind: kind, line: String(line), reason: reason)
    }

    mutating func next(_ what: String) throws(TincParseError) -> Substring {
        guard index < tokens.count else { throw fail("missing \(what)") }
        defer { index += 1 }
        return tokens[index]
    }

    mutating func expect(_ literal: String) throws(TincParseError) {
        let token = try next("\"\(literal)\"")
        guard token.utf8.elementsEqual(literal.utf8) else { throw fail("expected \"\(literal)\", found \"\(TincParseError.excerpt(String(token)))\"") }
    }

    /// `%d`.
    mutating func int(_ what: String) throws(TincParseError) -> Int {
        let token = try next(what)
        guard let value = Int(token) else { throw fail("\(what) is not a number") }
        return value
    }

    /// `%"PRIu64"`.
    mutating func uint64(_ what: String) throws(TincParseError) -> UInt64 {
        let token = try next(what)
        guard let value = UInt64(token) else { throw fail("\(what) is not an unsigned number") }
        return value
    }

    /// `%x` / `%04x` of an unsigned int.
    mutating func hex(_ what: String) throws(TincParseError) -> UInt32 {
        let token = try next(what)
        guard token.utf8.count <= 8, let value = UInt32(token, radix: 16) else { throw fail("\(what) is not hexadecimal") }
        return value
    }

    /// A node name or `-` (nil).
    mutating func name(_ what: String) throws(TincParseError) -> String? {
        let token = try next(what)
        return token == "-" ? nil : String(token)
    }

    /// `sockaddr2hostname` output: `host port P`, or one of tinc's placeholders.
    /// Returns (address, isMyself).
    mutating func address(_ what: String) throws(TincParseError) -> (TincSocketAddress?, Bool) {
        let host = try next(what)
        if host == "(null)" { return (nil, false) }          // 1.0: printf of a NULL hostname
        if host == "MYSELF", peek != "port" { return (nil, true) } // 1.0 myself
        try expect("port")
        let port = try next("\(what) port")
        if host == "MYSELF" { return (nil, true) }             // 1.1 myself: "MYSELF port 655"
        if (host == "unknown" && port == "unknown") || (host == "unspec" && port == "unspec") { return (nil, false) }
        return (TincSocketAddress(host: String(host), port: String(port)), false)
    }

    func requireEnd() throws(TincParseError) {
        guard isAtEnd else { throw fail("unexpected text after the last field") }
    }
}
