import Glibc

/// A numeric IPv4 or IPv6 address as a sockaddr, for probes.
struct ProbeAddress: Sendable, Hashable {
    let family: Int32
    /// The sockaddr_in or sockaddr_in6 bytes.
    let bytes: [UInt8]

    init?(_ text: String, port: UInt16 = 0) {
        // inet_pton reads up to a NUL; the text also goes to the status page as the peer's address.
        guard !text.utf8.contains(0) else { return nil }
        if text.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, text, &a.sin6_addr) == 1 else { return nil }
            family = AF_INET6
            bytes = withUnsafeBytes(of: a) { Array($0) }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, text, &a.sin_addr) == 1 else { return nil }
            family = AF_INET
            bytes = withUnsafeBytes(of: a) { Array($0) }
        }
    }

    /// The address part only (4 or 16 bytes), to match replies.
    var addressBytes: [UInt8] {
        family == AF_INET ? Array(bytes[4..<8]) : Array(bytes[8..<24])
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        bytes.withUnsafeBytes { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }
}
