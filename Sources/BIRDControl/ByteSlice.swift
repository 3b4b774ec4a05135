/// A non-owning view of bytes inside a reply, used by the parsers so that a 3 MB reply is
/// scanned without creating a String per line. Valid only inside `withUnsafeBufferPointer`.
struct ByteSlice {
    let base: UnsafePointer<UInt8>
    var start: Int
    var end: Int

    init(base: UnsafePointer<UInt8>, start: Int, end: Int) {
        self.base = base
        self.start = start
        self.end = max(start, end)
    }

    @inline(__always) var count: Int { end - start }
    @inline(__always) var isEmpty: Bool { start >= end }
    @inline(__always) var first: UInt8? { start < end ? base[start] : nil }
    @inline(__always) var last: UInt8? { start < end ? base[end - 1] : nil }

    /// Byte at an offset relative to `start`.
    @inline(__always) subscript(offset: Int) -> UInt8 { base[start + offset] }

    var string: String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: count), as: UTF8.self)
    }

    /// Number of leading spaces.
    var indentation: Int {
        var index = start
        while index < end, base[index] == .space { index += 1 }
        return index - start
    }

    func dropFirst(_ n: Int) -> ByteSlice {
        ByteSlice(base: base, start: min(start + n, end), end: end)
    }

    func prefix(_ n: Int) -> ByteSlice {
        ByteSlice(base: base, start: start, end: min(start + n, end))
    }

    func trimmed() -> ByteSlice {
        var lower = start, upper = end
        while lower < upper, base[lower].isBlank { lower += 1 }
        while upper > lower, base[upper - 1].isBlank { upper -= 1 }
        return ByteSlice(base: base, start: lower, end: upper)
    }

    func hasPrefix(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard count >= n else { return false }
        let bytes = literal.utf8Start
        for i in 0..<n where base[start + i] != bytes[i] { return false }
        return true
    }

    func hasSuffix(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard count >= n else { return false }
        let bytes = literal.utf8Start
        let offset = end - n
        for i in 0..<n where base[offset + i] != bytes[i] { return false }
        return true
    }

    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && hasPrefix(literal)
    }

    /// Absolute index of the first `byte`, or nil.
    func firstIndex(of byte: UInt8) -> Int? {
        var index = start
        while index < end {
            if base[index] == byte { return index }
            index += 1
        }
        return nil
    }

    /// Absolute index of the first occurrence of `pattern`.
    func firstIndex(of pattern: StaticString) -> Int? {
        let n = pattern.utf8CodeUnitCount
        guard n > 0, count >= n else { return nil }
        let bytes = pattern.utf8Start
        var index = start
        while index + n <= end {
            if base[index] == bytes[0] {
                var match = true
                for i in 1..<n where base[index + i] != bytes[i] { match = false; break }
                if match { return index }
            }
            index += 1
        }
        return nil
    }

    /// Splits at the first `byte`: the part before it and the part after it.
    func split(at byte: UInt8) -> (ByteSlice, ByteSlice)? {
        guard let index = firstIndex(of: byte) else { return nil }
        return (ByteSlice(base: base, start: start, end: index), ByteSlice(base: base, start: index + 1, end: end))
    }

    /// Splits off the first whitespace-separated token; the rest starts after the separating blanks.
    func nextToken() -> (token: ByteSlice, rest: ByteSlice)? {
        var lower = start
        while lower < end, base[lower].isBlank { lower += 1 }
        guard lower < end else { return nil }
        var upper = lower
        while upper < end, !base[upper].isBlank { upper += 1 }
        var rest = upper
        while rest < end, base[rest].isBlank { rest += 1 }
        return (ByteSlice(base: base, start: lower, end: upper), ByteSlice(base: base, start: rest, end: end))
    }

    /// Splits off the last whitespace-separated token.
    func lastToken() -> (rest: ByteSlice, token: ByteSlice)? {
        var upper = end
        while upper > start, base[upper - 1].isBlank { upper -= 1 }
        guard upper > start else { return nil }
        var lower = upper
        while lower > start, !base[lower - 1].isBlank { lower -= 1 }
        var restEnd = lower
        while restEnd > start, base[restEnd - 1].isBlank { restEnd -= 1 }
        return (ByteSlice(base: base, start: start, end: restEnd), ByteSlice(base: base, start: lower, end: upper))
    }

    /// The whole slice as an unsigned decimal number (no sign, no blanks), or nil.
    func parseUInt64() -> UInt64? {
        guard !isEmpty, count <= 20 else { return nil }
        var value: UInt64 = 0
        for index in start..<end {
            let digit = base[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    func parseInt() -> Int? {
        if first == UInt8(ascii: "-") {
            guard let magnitude = dropFirst(1).parseUInt64(), magnitude <= UInt64(Int.max) else { return nil }
            return -Int(magnitude)
        }
        guard let value = parseUInt64(), value <= UInt64(Int.max) else { return nil }
        return Int(value)
    }

    /// A decimal like `61.443`, `-0.5` or `300`. Correctly rounded for up to 15 significant digits.
    func parseDecimal() -> Double? {
        var slice = self
        var negative = false
        if slice.first == UInt8(ascii: "-") { negative = true; slice = slice.dropFirst(1) }
        guard !slice.isEmpty else { return nil }
        var mantissa: UInt64 = 0
        var digits = 0, fractionDigits = 0
        var seenDot = false
        for index in slice.start..<slice.end {
            let byte = slice.base[index]
            if byte == UInt8(ascii: "."), !seenDot { seenDot = true; continue }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            guard digits < 18 else { return nil }
            mantissa = mantissa * 10 + UInt64(digit)
            digits += 1
            if seenDot { fractionDigits += 1 }
        }
        guard digits > 0 else { return nil }
        // Both operands are exact, so the IEEE division rounds exactly like parsing the literal.
        let value = Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -value : value
    }
}

private let powersOfTen: [Double] = (0...18).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let newline = UInt8(ascii: "\n")
    static let colon = UInt8(ascii: ":")
    @inline(__always) var isBlank: Bool { self == .space || self == UInt8(ascii: "\t") || self == UInt8(ascii: "\r") }
    @inline(__always) var isDigit: Bool { self &- UInt8(ascii: "0") < 10 }
}
