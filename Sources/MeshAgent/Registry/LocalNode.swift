import Glibc
import TincControl

/// Why this node's own record cannot be built (the registry then publishes nothing and
/// says so, once, until it can).
public enum LocalNodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case tincConfig(String)
    case noName(directory: String)
    case hostFile(String)
    case noKey(path: String, reason: String)
    case noAddress(path: String)

    public var description: String {
        switch self {
        case .tincConfig(let reason): "cannot read tinc.conf: \(reason)"
        case .noName(let directory): "\(directory)/tinc.conf has no Name; the registry needs this node's name"
        case .hostFile(let reason): "cannot read this node's host file: \(reason)"
        case .noKey(let path, let reason):
            "\(path) holds no usable RSA public key (\(reason)); generate one with `tincd -n NET -K`"
        case .noAddress(let path):
            "\(path) has no Address line; other nodes could not reach this one (add `Address = <underlay IP>`)"
        }
    }
}

/// Builds this node's registry record from local state: tinc.conf and this node's host file
/// (name, underlay addresses, port, subnets, key), the tinc interface's addresses (overlay)
/// and BIRD's router ID and AS when BIRD answered.
public enum LocalNode {
    public static func record(directory: String, interface: String?, bgp: NodeRecord.BGP)
        throws(LocalNodeError) -> (name: TincNodeName, record: NodeRecord) {
        let dir = TincConfigDirectory(path: directory)
        let config: TincServerConfig
        do {
            config = try dir.serverConfig()
        } catch {
            throw .tincConfig("\(error)")
        }
        guard let rawName = config.name else { throw .noName(directory: directory) }
        guard let name = TincNodeName(rawName) else { throw .tincConfig("Name \(rawName.debugDescription) is not a valid tinc name") }
        let host: TincHostFile
        do {
            host = try dir.hostFile(name)
        } catch {
            throw .hostFile("\(error)")
        }
        let path = name.hostFilePath(netDirectory: directory)
        guard let key = host.publicKey else { throw .noKey(path: path, reason: host.publicKeyProblem ?? "no key") }
        let addresses = host.addresses.map(\.host).filter { !$0.isEmpty }
        guard !addresses.isEmpty else { throw .noAddress(path: path) }
        let port = host.port.flatMap { Int($0) } ?? host.addresses.compactMap { $0.port.flatMap { Int($0) } }.first
            ?? config.values("Port").first.flatMap { Int($0) } ?? 655
        let ifname = interface ?? config.values("Interface").first ?? directory.split(separator: "/").last.map(String.init) ?? "tinc"
        let record = NodeRecord(
            name: name.rawValue,
            underlay: .init(addresses: addresses, port: port),
            overlay: .init(addresses: interfaceAddresses(ifname), subnets: host.subnets.map(\.description)),
            bgp: bgp, publicKey: key)
        return (name, record)
    }

    /// This node's tinc RSA private key file: tinc.conf's `PrivateKeyFile`, else `rsa_key.priv`
    /// in the net directory (tinc 1.0's default).
    public static func privateKeyPath(directory: String) -> String {
        let configured = (try? TincConfigDirectory(path: directory).serverConfig())?.values("PrivateKeyFile").first
        guard let configured, !configured.isEmpty else { return directory + "/rsa_key.priv" }
        return configured.hasPrefix("/") ? configured : directory + "/" + configured
    }

    /// IPv4 and global IPv6 addresses of `interface` (link-local ones are useless to peers).
    public static func interfaceAddresses(_ interface: String) -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let cName = entry.pointee.ifa_name, String(cString: cName) == interface,
                  let address = entry.pointee.ifa_addr else { continue }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                var sin = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                guard inet_ntop(AF_INET, &sin.sin_addr, &buffer, socklen_t(buffer.count)) != nil else { continue }
            case AF_INET6:
                var sin6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
                if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { continue }
                guard inet_ntop(AF_INET6, &sin6.sin6_addr, &buffer, socklen_t(buffer.count)) != nil else { continue }
            default:
                continue
            }
            out.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out.sorted()
    }
}

import BIRDControl
import Synchronization

/// The BGP fields of this node's record as BIRD last said them. A BIRD restart or a failed
/// read (no status or no protocol list) keeps the last known values, so the record, and every
/// peer's view of it, does not change twice each time BIRD goes away and comes back.
final class BGPIdentityMemory: Sendable {
    private let last = Mutex<NodeRecord.BGP?>(nil)

    func update(from snapshot: BIRDSnapshot?) -> NodeRecord.BGP {
        last.withLock { last in
            guard let snapshot, snapshot.status != nil, snapshot.protocols != nil else {
                return last ?? LocalNode.bgp(from: snapshot)
            }
            let fresh = LocalNode.bgp(from: snapshot)
            last = fresh
            return fresh
        }
    }
}

extension LocalNode {
    /// BIRD's router ID and the local AS of its first BGP protocol, from the BIRD sampler's
    /// snapshot (both nil when BIRD has not answered yet).
    public static func bgp(from snapshot: BIRDSnapshot?) -> NodeRecord.BGP {
        let asn = snapshot?.protocols?.protocols.lazy.compactMap { $0.bgp?.localAS }.first
        return NodeRecord.BGP(asn: asn, routerID: snapshot?.status?.routerID)
    }
}
