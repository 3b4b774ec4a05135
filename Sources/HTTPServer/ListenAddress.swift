import Glibc

/// A parsed listen address: ":port" (every address, dual-stack), "a.b.c.d:port" or "[v6]:port".
struct ListenAddress: Equatable, Sendable {
    enum Host: Equatable, Sendable {
        case any
        /// Four bytes, network order.
        case ipv4([UInt8])
        /// Sixteen bytes, network order.
        case ipv6([UInt8], scopeID: UInt32)
    }

    let text: String
    let host: Host
    let port: UInt16

    init(parsing text: String) throws(HTTPServerError) {
        self.text = text
        func invalid(_ reason: String) -> HTTPServerError { .invalidListenAddress(text, reason: reason) }

        guard let colon = text.lastIndex(of: ":") else {
            throw invalid("expected host:port, e.g. 127.0.0.1:10179, [::1]:10179 or :10179")
        }
        let hostPart = text[..<colon]
        let portPart = text[text.index(after: colon)...]
        guard !portPart.isEmpty, portPart.utf8.count <= 5, portPart.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let port = UInt16(portPart) else {
            throw invalid("port must be a number from 0 to 65535")
        }
        self.port = port

        if hostPart.isEmpty {
            host = .any
        } else if hostPart.hasPrefix("[") && hostPart.hasSuffix("]") {
            let inner = hostPart.dropFirst().dropLast()
            let parts = inner.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(parts[0]), &address) == 1 else {
                throw invalid("\(parts[0]) is not an IPv6 address")
            }
            var scopeID: UInt32 = 0
            if parts.count == 2 {
                let zone = String(parts[1])
                scopeID = UInt32(zone) ?? if_nametoindex(zone)
                guard scopeID != 0 else { throw invalid("unknown interface \"\(zone)\"") }
            }
            host = .ipv6(withUnsafeBytes(of: &address) { Array($0) }, scopeID: scopeID)
        } else if hostPart.contains(":") {
            throw invalid("an IPv6 address must be in brackets, e.g. [::1]:10179")
        } else {
            var address = in_addr()
            guard inet_pton(AF_INET, String(hostPart), &address) == 1 else {
                throw invalid("host must be an IPv4 address or a bracketed IPv6 address, not a name")
            }
            host = .ipv4(withUnsafeBytes(of: &address) { Array($0) })
        }
    }
}
