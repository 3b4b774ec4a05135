import Glibc

/// An IPv4 or IPv6 prefix (`198.51.100.0/24`, `2001:db8::/32`), or a host address as a /32 or
/// /128. Used to hold registry records to `mesh.overlay-prefixes` and to find overlapping
/// subnets. Parsed with inet_pton, so only numeric addresses are accepted. The address is
/// kept as 128 bits (IPv4 in the low 32), so containment is two masks and no allocation.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    public let family: Family
    /// The network address with the host bits cleared, high and low 64 bits.
    let high: UInt64
    let low: UInt64
    public let length: Int

    /// Parses `address/length` or a bare address (a host prefix). With `strict`, host bits set
    /// below the length (`198.51.100.1/24`) are refused instead of cleared.
    public init?(_ text: String, strict: Bool = false) {
        // inet_pton reads up to a NUL: "198.51.100.1\0junk" would pass and keep its junk.
        guard text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        var raw: [UInt8]
        if addressText.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, addressText, &a) == 1 else { return nil }
            family = .ipv6
            raw = withUnsafeBytes(of: &a) { Array($0) }
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, addressText, &a) == 1 else { return nil }
            family = .ipv4
            raw = withUnsafeBytes(of: &a) { Array($0) }
        }
        let maxLength = raw.count * 8
        var length = maxLength
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.utf8.count <= 3, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(digits), n <= maxLength else { return nil }
            length = n
        }
        var value: (UInt64, UInt64) = (0, 0)
        for (i, byte) in raw.enumerated() {
            // IPv4 fills the low 32 bits; IPv6 the whole 128.
            let bit = (raw.count - 1 - i) * 8
            if bit >= 64 { value.0 |= UInt64(byte) << (bit - 64) } else { value.1 |= UInt64(byte) << bit }
        }
        let masked = Self.masked(value, length: length, family: family)
        if strict, masked != value { return nil }
        (high, low) = masked
        self.length = length
    }

    private static func bits(_ family: Family) -> Int { family == .ipv4 ? 32 : 128 }

    /// `value` with every bit below the first `length` (of the family's width) cleared.
    private static func masked(_ value: (UInt64, UInt64), length: Int, family: Family) -> (UInt64, UInt64) {
        let hostBits = bits(family) - length
        func keep(_ word: UInt64, clearing n: Int) -> UInt64 { n >= 64 ? 0 : (n <= 0 ? word : word & ~((1 << UInt64(n)) - 1)) }
        return (keep(value.0, clearing: hostBits - 64), keep(value.1, clearing: hostBits))
    }

    /// True when every address of `other` lies in this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        guard other.family == family, other.length >= length else { return false }
        return Self.masked((other.high, other.low), length: length, family: family) == (high, low)
    }

    /// True when the two prefixes share an address (one contains the other).
    public func overlaps(_ other: IPPrefix) -> Bool {
        contains(other) || other.contains(self)
    }

    /// A default route (`0.0.0.0/0`, `::/0`).
    public var isDefault: Bool { length == 0 }

    public var description: String {
        var text: String
        if family == .ipv4 {
            text = [24, 16, 8, 0].map { String((low >> UInt64($0)) & 0xFF) }.joined(separator: ".")
        } else {
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) { bytes in
                for i in 0..<16 {
                    let bit = (15 - i) * 8
                    bytes[i] = UInt8(truncatingIfNeeded: bit >= 64 ? high >> UInt64(bit - 64) : low >> UInt64(bit))
                }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
            text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return "\(text)/\(length)"
    }
}
