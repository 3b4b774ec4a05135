/// The reply to `show memory` (BIRD 2.0.12 `cmd_show_memory`), in bytes.
public struct BIRDMemory: Sendable, Equatable {
    /// Every line in order: `Routing tables`, `Route attributes`, `Protocols`, `Current config`,
    /// `Standby memory`, `Total` (names without the colon).
    public var entries: [BIRDMemoryEntry]
    public var unrecognizedLines: Int

    public init(entries: [BIRDMemoryEntry] = [], unrecognizedLines: Int = 0) {
        self.entries = entries
        self.unrecognizedLines = unrecognizedLines
    }

    public subscript(name: String) -> BIRDMemoryEntry? {
        entries.first { $0.name == name }
    }

    public var total: BIRDMemoryEntry? { self["Total"] }
}

/// One line of `show memory`. BIRD prints one decimal of a 1024-based unit (`88.1 kB`), so the
/// byte counts are accurate to about 0.05 %.
public struct BIRDMemoryEntry: Sendable, Hashable {
    public var name: String
    public var effectiveBytes: UInt64
    /// The Overhead column (BIRD 2.0.11 and later); nil when the line has one column.
    public var overheadBytes: UInt64?

    public init(name: String, effectiveBytes: UInt64, overheadBytes: UInt64?) {
        self.name = name
        self.effectiveBytes = effectiveBytes
        self.overheadBytes = overheadBytes
    }
}

extension BIRDMemory {
    public static func parse(_ reply: BIRDReply) throws(BIRDParseError) -> BIRDMemory {
        try BIRDParseError.checkDaemonError(reply)
        var result = BIRDMemory()
        var sawHeading = false
        reply.withLines { base, lines in
            for line in lines where line.code == 1018 {
                let text = ByteSlice(base: base, start: line.textStart, end: line.textEnd).trimmed()
                if text.isEmpty || text.equals("BIRD memory usage") { sawHeading = true; continue }
                guard let (name, values) = text.split(at: .colon) else {
                    // The column heading "Effective    Overhead" has no colon.
                    if !text.hasPrefix("Effective") { result.unrecognizedLines += 1 }
                    continue
                }
                guard let (effective, rest) = Self.size(values), let effective else { result.unrecognizedLines += 1; continue }
                let overhead = Self.size(rest)?.0 ?? nil
                result.entries.append(BIRDMemoryEntry(name: name.trimmed().string, effectiveBytes: effective, overheadBytes: overhead))
            }
        }
        if !sawHeading && result.entries.isEmpty && reply.lines.count > 1 {
            throw .unexpectedReply(expected: "1018 memory usage lines", code: reply.code, text: reply.finalText)
        }
        return result
    }

    /// `88.1 kB` / `2718.0  B` (`"% 4u.%1u % 1cB"` with suffixes ` kMGT`) and the text after it.
    static func size(_ text: ByteSlice) -> (UInt64?, ByteSlice)? {
        guard let (number, afterNumber) = text.nextToken(), let value = number.parseDecimal(),
              let (unit, rest) = afterNumber.nextToken() else { return nil }
        let multiplier: Double
        if unit.equals("B") { multiplier = 1 }
        else if unit.equals("kB") { multiplier = 1024 }
        else if unit.equals("MB") { multiplier = 1024 * 1024 }
        else if unit.equals("GB") { multiplier = 1024 * 1024 * 1024 }
        else if unit.equals("TB") { multiplier = 1024 * 1024 * 1024 * 1024 }
        else { return (nil, rest) }
        let bytes = (value * multiplier).rounded()
        guard bytes >= 0, bytes < 1.8e19 else { return (nil, rest) }
        return (UInt64(bytes), rest)
    }
}
