import Glibc

/// An IPv4 or IPv6 prefix (`198.51.100.0/24`, `2001:db8::/32`), or a host address as a /32 or
/// /128. Used to hold registry records to `mesh.overlay-prefixes` and to find overlapping
/// subnets. Parsed with inet_pton, so only numeric addresses are accepted.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    public let family: Family
    /// The network address with the host bits cleared: 4 or 16 bytes.
    public let bytes: [UInt8]
    public let length: Int

    /// Parses `address/length` or a bare address (a host prefix). With `strict`, host bits set
    /// below the length (`198.51.100.1/24`) are refused instead of cleared.
    public init?(_ text: String, strict: Bool = false) {
        // inet_pton reads up to a NUL: "198.51.100.1\0junk" would pass and keep its junk.
        guard text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        var family: Family
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
        let masked = Self.mask(raw, length)
        if strict, masked != raw { return nil }
        self.family = family
        self.bytes = masked
        self.length = length
    }

    private static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            let bitsHere = max(0, min(8, length - i * 8))
            out[i] &= bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsHere))
        }
        return out
    }

    /// True when every address of `other` lies in this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.length >= length && Self.mask(other.bytes, length) == bytes
    }

    /// True when the two prefixes share an address (one contains the other).
    public func overlaps(_ other: IPPrefix) -> Bool {
        contains(other) || other.contains(self)
    }

    /// A default route (`0.0.0.0/0`, `::/0`).
    public var isDefault: Bool { length == 0 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(address)/\(length)"
    }
}
