import Glibc

/// A sockaddr_storage with its length, printable as "192.0.2.1:80" or "[2001:db8::1]:80".
struct SocketAddress: CustomStringConvertible {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    init() {}

    init(ipv4 address: in_addr, port: UInt16) {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr = address
        store(sin)
    }

    init(ipv6 address: in6_addr, port: UInt16, scopeID: UInt32 = 0) {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_addr = address
        sin6.sin6_scope_id = scopeID
        store(sin6)
    }

    /// The local address of a bound socket.
    static func local(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress()
        let result = address.withMutableSockaddr { getsockname(fd, $0, $1) }
        return result == 0 ? address : nil
    }

    var family: Int32 { Int32(storage.ss_family) }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    mutating func withMutableSockaddr<R>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> R) -> R {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        defer { self.length = length }
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
        }
    }

    var description: String {
        withUnsafePointer(to: storage) { pointer -> String in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var address = sin.pointee.sin_addr
                    return "\(Self.text(AF_INET, &address)):\(UInt16(bigEndian: sin.pointee.sin_port))"
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var address = sin6.pointee.sin6_addr
                    let port = UInt16(bigEndian: sin6.pointee.sin6_port)
                    // An IPv4 client of a dual-stack socket appears as ::ffff:a.b.c.d; show it as IPv4.
                    let bytes = withUnsafeBytes(of: &address) { Array($0) }
                    if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                        return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15]):\(port)"
                    }
                    var host = Self.text(AF_INET6, &address)
                    if sin6.pointee.sin6_scope_id != 0 { host += "%\(sin6.pointee.sin6_scope_id)" }
                    return "[\(host)]:\(port)"
                }
            default:
                return "unknown"
            }
        }
    }

    private mutating func store<T>(_ value: T) {
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: value) { target.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<T>.size)
    }

    private static func text<T>(_ family: Int32, _ address: inout T) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = withUnsafePointer(to: &address) { inet_ntop(family, $0, &buffer, socklen_t(buffer.count)) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }
}
