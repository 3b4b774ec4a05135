import Glibc

/// A subnet as tinc prints and reads it (`net2str` / `str2net`): a MAC address (switch mode),
/// an IPv4 or an IPv6 prefix, with a weight. Accepts both 1.0's form (`ce:8:4f:5a:91:67#10`,
/// `198.51.100.1/32#10`, `2001:db8:0:0:0:0:0:1/128#10`) and 1.1's (`ce:08:...`, `198.51.100.1`,
/// `2001:db8::1`, weight only when not 10).
public struct TincSubnet: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable { case mac, ipv4, ipv6 }

    public var kind: Kind
    /// Canonical text: MAC as six two-digit lowercase groups, IPv4 dotted, IPv6 RFC 5952.
    public var address: String
    /// 32/128 for a host address, nil for MAC subnets.
    public var prefixLength: Int?
    /// tinc's default weight is 10.
    public var weight: Int
    /// The owning node; nil for 1.1's `(broadcast)` subnets and for host-file `Subnet` lines.
    public var owner: String?

    public static let defaultWeight = 10

    public init(kind: Kind, address: String, prefixLength: Int?, weight: Int = TincSubnet.defaultWeight, owner: String? = nil) {
        self.kind = kind
        self.address = address
        self.prefixLength = prefixLength
        self.weight = weight
        self.owner = owner
    }

    /// Canonical form, e.g. `198.51.100.1/32`, `2001:db8::/64#5`, `ce:08:4f:5a:91:67`.
    public var description: String {
        var text = address
        if let prefixLength { text += "/\(prefixLength)" }
        if weight != Self.defaultWeight { text += "#\(weight)" }
        return text
    }

    /// Parses `net2str`/`Subnet =` text: `ADDRESS[/PREFIX][#WEIGHT]`.
    public init(parsing text: Substring, owner: String? = nil) throws(TincParseError) {
        func fail(_ reason: String) -> TincParseError { .malformedLine(kind: "subnet", line: String(text), reason: reason) }
        guard !text.isEmpty, text.utf8.count <= 100 else { throw fail("empty or too long") }
        var rest = text
        var weight = Self.defaultWeight
        if let hash = rest.firstIndex(of: "#") {
            guard let value = Int(rest[rest.index(after: hash)...]), value >= 0 else { throw fail("weight is not a number") }
            weight = value
            rest = rest[..<hash]
        }
        var prefix: Int?
        if let slash = rest.firstIndex(of: "/") {
            guard let value = Int(rest[rest.index(after: slash)...]), value >= 0 else { throw fail("prefix length is not a number") }
            prefix = value
            rest = rest[..<slash]
        }
        if let mac = Self.mac(rest) {
            guard prefix == nil else { throw fail("a MAC subnet has no prefix length") }
            self.init(kind: .mac, address: mac, prefixLength: nil, weight: weight, owner: owner)
            return
        }
        if let v4 = Self.ipv4(rest) {
            let length = prefix ?? 32
            guard length <= 32 else { throw fail("IPv4 prefix length above 32") }
            self.init(kind: .ipv4, address: v4, prefixLength: length, weight: weight, owner: owner)
            return
        }
        if rest.contains(":"), let v6 = Self.ipv6(rest) {
            let length = prefix ?? 128
            guard length <= 128 else { throw fail("IPv6 prefix length above 128") }
            self.init(kind: .ipv6, address: v6, prefixLength: length, weight: weight, owner: owner)
            return
        }
        throw fail("not a MAC, IPv4 or IPv6 address")
    }

    /// Six groups of one or two hex digits (1.0 prints `%x`, 1.1 `%02x`).
    static func mac(_ text: Substring) -> String? {
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count == 6 else { return nil }
        var out: [String] = []
        for group in groups {
            guard (1...2).contains(group.utf8.count), let value = UInt8(group, radix: 16) else { return nil }
            let hex = String(value, radix: 16)
            out.append(hex.count == 1 ? "0" + hex : hex)
        }
        return out.joined(separator: ":")
    }

    static func ipv4(_ text: Substring) -> String? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [String] = []
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let value = Int(part), value <= 255 else { return nil }
            out.append(String(value))
        }
        return out.joined(separator: ".")
    }

    /// inet_pton then inet_ntop: glibc prints RFC 5952 text (lowercase, longest zero run as ::).
    static func ipv6(_ text: Substring) -> String? {
        guard text.utf8.count <= 45, !text.utf8.contains(0) else { return nil }
        var raw = in6_addr()
        let parsed = String(text).withCString { inet_pton(AF_INET6, $0, &raw) }
        guard parsed == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
