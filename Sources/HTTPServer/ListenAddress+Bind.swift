import POSIXSupport
import Glibc

extension ListenAddress {
    /// Creates a non-blocking, close-on-exec listening socket bound to this address.
    /// Returns the socket and the address actually bound (port 0 resolved).
    func bindListener(backlog: Int32) throws(HTTPServerError) -> (FileDescriptor, String) {
        switch host {
        case .any:
            do {
                // One IPv6 socket with IPV6_V6ONLY off accepts IPv4 too, as ::ffff:a.b.c.d.
                return try listen(SocketAddress(ipv6: in6addr_any, port: port), v6Only: false, backlog: backlog)
            } catch let error {
                switch error {
                case .socket(_, "socket", EAFNOSUPPORT), .bind(_, EADDRNOTAVAIL), .socket(_, "setsockopt(IPV6_V6ONLY)", _):
                    // IPv6 is disabled on this host: every IPv4 address instead.
                    return try listen(SocketAddress(ipv4: in_addr(s_addr: INADDR_ANY), port: port), v6Only: nil, backlog: backlog)
                default:
                    throw error
                }
            }
        case .ipv4(let bytes):
            var address = in_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            return try listen(SocketAddress(ipv4: address, port: port), v6Only: nil, backlog: backlog)
        case .ipv6(let bytes, let scopeID):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            return try listen(SocketAddress(ipv6: address, port: port, scopeID: scopeID), v6Only: true, backlog: backlog)
        }
    }

    private func listen(_ address: SocketAddress, v6Only: Bool?, backlog: Int32) throws(HTTPServerError) -> (FileDescriptor, String) {
        let raw = socket(address.family, Int32(SOCK_STREAM.rawValue) | LinuxAPI.socketFlags, 0)
        guard raw >= 0 else { throw .socket(address: text, call: "socket", errno: errno) }
        let descriptor = FileDescriptor(raw)

        var one: Int32 = 1
        // SO_REUSEADDR only skips TIME_WAIT leftovers; a live listener on the port still fails with EADDRINUSE.
        guard setsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .socket(address: text, call: "setsockopt(SO_REUSEADDR)", errno: errno)
        }
        if let v6Only {
            var flag: Int32 = v6Only ? 1 : 0
            guard setsockopt(raw, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &flag, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw .socket(address: text, call: "setsockopt(IPV6_V6ONLY)", errno: errno)
            }
        }
        guard address.withSockaddr({ Glibc.bind(raw, $0, $1) }) == 0 else {
            throw .bind(address: text, errno: errno)
        }
        guard Glibc.listen(raw, backlog) == 0 else {
            throw .socket(address: text, call: "listen", errno: errno)
        }
        guard let bound = SocketAddress.local(of: raw) else {
            throw .socket(address: text, call: "getsockname", errno: errno)
        }
        return (descriptor, bound.description)
    }
}
