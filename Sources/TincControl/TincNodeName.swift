/// A tinc node name that is safe to use as a file name under `hosts/`: `[A-Za-z0-9_]+`, as
/// tinc's `check_id` demands (ASCII only; at most 255 bytes, a file name's limit).
public struct TincNodeName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Nil when `name` does not match tinc's rule.
    public init?(_ name: String) {
        guard Self.isValid(name) else { return nil }
        rawValue = name
    }

    /// Throws `.invalidNodeName` when `name` does not match tinc's rule.
    public static func validate(_ name: String) throws(TincParseError) -> TincNodeName {
        guard let valid = TincNodeName(name) else { throw .invalidNodeName(name) }
        return valid
    }

    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
    }

    /// `<netDirectory>/hosts/<name>`; the name cannot contain `/` or `..`, so this stays in `hosts/`.
    public func hostFilePath(netDirectory: String) -> String {
        netDirectory + "/hosts/" + rawValue
    }

    public var description: String { rawValue }
    public static func < (a: TincNodeName, b: TincNodeName) -> Bool { a.rawValue < b.rawValue }
}
