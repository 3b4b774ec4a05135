/// The pieces of BIRD 2's configuration syntax the agent writes.
public enum BIRDSyntax {
    /// A BIRD symbol: a letter or `_`, then letters, digits or `_`; at most 64 bytes (BIRD's
    /// SYM_MAX_LEN). Keywords are symbols too; BIRD's `configure check` refuses those.
    public static func isSymbol(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// A dotted-quad IPv4 address, each part 0-255 without leading zeros.
    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy(isDigit), let n = Int(part), n <= 255 else { return false }
            return part == "0" || part.first != "0"
        }
    }

    /// `text` as a BIRD string literal, or nil when it cannot be one: BIRD's lexer takes
    /// `"` ... `"` with no escapes and no newline, so a password with `"`, `\` or a control
    /// character is refused rather than mangled.
    public static func stringLiteral(_ text: String) -> String? {
        guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
            return nil
        }
        return "\"" + text + "\""
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
