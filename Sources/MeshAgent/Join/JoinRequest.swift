import Glibc
import TincControl

/// What `bgpmesh-agent join` was asked for: one node's identity, addresses and file locations.
/// `validated` checks every field before anything is planned, so a name never becomes a path
/// unchecked and a bad address is refused with the flag that carried it.
public struct JoinRequest: Sendable, Equatable {
    public var name: String
    public var etcdEndpoints: [String]
    /// The node's public (underlay) address, where the other nodes' tincd connect.
    public var underlay: String
    /// Overlay addresses with the overlay network's length (`198.51.100.4/24`, `2001:db8::4/64`).
    public var overlays: [String]
    /// Prefixes this node announces in BGP (static blackhole routes in the bird.conf join writes).
    public var announce: [String] = []
    /// `mesh.overlay-prefixes`; empty means the overlay networks and the announced prefixes.
    public var meshPrefixes: [String] = []
    public var net = "bgpmesh"
    public var interface = "tinc0"
    public var port = 655
    public var asn = 65000
    /// BIRD's router ID; nil means the underlay address if IPv4, else the first IPv4 overlay address.
    public var routerID: String?
    public var keyBits = 2048
    public var tincDir: String?
    public var birdConf = "/etc/bird/bird.conf"
    /// The template stanza's file; nil means `bgpmesh-template.conf` next to bird.conf.
    public var birdTemplateFile: String?
    /// `bird.peers-file`; nil means `bgpmesh-peers.conf` next to bird.conf.
    public var birdPeersFile: String?
    public var birdTemplate = "bgpmesh"
    public var birdSocket = "/run/bird/bird.ctl"
    public var configFile = "/etc/bgpmesh/agent.yml"
    public var stateDir = "/var/lib/bgpmesh"
    public var listen = ":10179"
    /// More agent settings for the config file, `key=value` (a key given twice becomes a list).
    public var settings: [String] = []

    public init(name: String, etcdEndpoints: [String], underlay: String, overlays: [String]) {
        self.name = name
        self.etcdEndpoints = etcdEndpoints
        self.underlay = underlay
        self.overlays = overlays
    }
}

/// A join request whose every field was checked: what the plan and the templates use.
public struct JoinSpec: Sendable {
    public struct Overlay: Sendable, Equatable {
        public var address: String
        public var length: Int
        public var family: IPPrefix.Family
        public var network: IPPrefix
        public var withLength: String { "\(address)/\(length)" }
        public var host: String { "\(address)/\(family == .ipv4 ? 32 : 128)" }
    }

    public var name: TincNodeName
    public var etcdEndpoints: [String]
    public var underlay: String
    public var underlayFamily: IPPrefix.Family
    public var overlays: [Overlay]
    public var announce: [IPPrefix]
    public var meshPrefixes: [IPPrefix]
    public var net: String
    public var interface: String
    public var port: Int
    public var asn: Int
    public var routerID: String
    public var keyBits: Int
    public var tincDir: String
    public var birdConf: String
    public var birdTemplateFile: String
    public var birdPeersFile: String
    public var birdTemplate: String
    public var birdSocket: String
    public var configFile: String
    public var stateDir: String
    public var listen: String
    public var settings: [(key: String, values: [String])]

    public var overlay4: Overlay? { overlays.first { $0.family == .ipv4 } }
    public var overlay6: Overlay? { overlays.first { $0.family == .ipv6 } }
    public var hostFile: String { name.hostFilePath(netDirectory: tincDir) }
    public var privateKeyFile: String { tincDir + "/rsa_key.priv" }
}

/// Why a join request is refused, naming the flag and the value.
public enum JoinError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(flag: String, value: String, reason: String)
    case missingBinary(name: String, hint: String)
    case etcdUnreachable(endpoints: [String], seconds: Int, reason: String)
    case conflict(path: String, reason: String)
    case failed(step: String, reason: String)
    case waitTimedOut(seconds: Int, last: String)

    public var description: String {
        switch self {
        case .invalid(let flag, let value, let reason): "\(flag) \(value.debugDescription): \(reason)"
        case .missingBinary(let name, let hint): "\(name) not found in PATH (\(hint))"
        case .etcdUnreachable(let endpoints, let seconds, let reason):
            "etcd unreachable at \(endpoints.joined(separator: ",")) within \(seconds) s: \(reason)"
        case .conflict(let path, let reason): "\(path): \(reason)"
        case .failed(let step, let reason): "\(step): \(reason)"
        case .waitTimedOut(let seconds, let last): "the sessions were not all Established within \(seconds) s (last: \(last))"
        }
    }
}

extension JoinRequest {
    /// Every field checked; paths made absolute-only, names held to tinc's rule.
    public func validated() throws(JoinError) -> JoinSpec {
        guard let node = TincNodeName(name) else {
            throw .invalid(flag: "--name", value: name, reason: "a tinc node name is letters, digits and _ only")
        }
        guard Self.isSafeComponent(net) else {
            throw .invalid(flag: "--net", value: net, reason: "a tinc net name is letters, digits, _ and - only")
        }
        guard Self.isSafeComponent(interface), interface.utf8.count < 16 else {
            throw .invalid(flag: "--interface", value: interface, reason: "an interface name is up to 15 letters, digits, _ and -")
        }
        guard Self.isSafeComponent(birdTemplate), birdTemplate.first.map({ $0.isLetter }) == true else {
            throw .invalid(flag: "--bird-template", value: birdTemplate, reason: "a BIRD symbol starts with a letter: letters, digits, _")
        }
        guard !etcdEndpoints.isEmpty else { throw .invalid(flag: "--etcd", value: "", reason: "give at least one etcd endpoint URL") }
        for url in etcdEndpoints where !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.contains(" ") {
            throw .invalid(flag: "--etcd", value: url, reason: "expected http(s)://HOST:PORT")
        }
        guard let underlayPrefix = IPPrefix(underlay), !underlay.contains("/") else {
            throw .invalid(flag: "--underlay", value: underlay, reason: "expected a numeric IPv4 or IPv6 address")
        }
        guard !overlays.isEmpty else { throw .invalid(flag: "--overlay", value: "", reason: "give the overlay address as ADDR/LEN") }
        var parsed: [JoinSpec.Overlay] = []
        for text in overlays {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let host = IPPrefix(parts[0]), let net = IPPrefix(text), net.length < (host.family == .ipv4 ? 32 : 128) else {
                throw .invalid(flag: "--overlay", value: text, reason: "expected ADDR/LEN with the overlay network's length, like 198.51.100.4/24")
            }
            guard !parsed.contains(where: { $0.family == host.family }) else {
                throw .invalid(flag: "--overlay", value: text, reason: "one IPv4 and one IPv6 overlay address at most")
            }
            parsed.append(.init(address: parts[0], length: net.length, family: host.family, network: net))
        }
        var announced: [IPPrefix] = []
        for text in announce {
            guard let p = IPPrefix(text, strict: true), text.contains("/") else {
                throw .invalid(flag: "--announce", value: text, reason: "expected a prefix with its host bits clear, like 203.0.113.4/32")
            }
            announced.append(p)
        }
        var mesh: [IPPrefix] = []
        for text in meshPrefixes {
            guard let p = IPPrefix(text, strict: true), text.contains("/") else {
                throw .invalid(flag: "--mesh-prefix", value: text, reason: "expected a prefix with its host bits clear, like 198.51.100.0/24")
            }
            mesh.append(p)
        }
        if mesh.isEmpty {
            for p in parsed.map(\.network) + announced where !mesh.contains(where: { $0.contains(p) }) { mesh.append(p) }
        }
        guard (1...65535).contains(port) else { throw .invalid(flag: "--port", value: String(port), reason: "a port is 1 to 65535") }
        guard (1...4_294_967_295).contains(asn) else { throw .invalid(flag: "--asn", value: String(asn), reason: "an AS number is 1 to 4294967295") }
        let rid: String
        if let routerID {
            guard let p = IPPrefix(routerID), p.family == .ipv4, !routerID.contains("/") else {
                throw .invalid(flag: "--router-id", value: routerID, reason: "a BIRD router ID is an IPv4 address")
            }
            rid = routerID
        } else if underlayPrefix.family == .ipv4 {
            rid = underlay
        } else if let v4 = parsed.first(where: { $0.family == .ipv4 }) {
            rid = v4.address
        } else {
            throw .invalid(flag: "--router-id", value: "", reason: "give a router ID (no IPv4 underlay or overlay address to take it from)")
        }
        guard TincRSAPrivateKey.generatableBits.contains(keyBits) else {
            throw .invalid(flag: "--key-bits", value: String(keyBits), reason: "tinc 1.0 keys are 1024 to 16384 bits (2048 is usual)")
        }
        let tinc = tincDir ?? "/etc/tinc/\(net)"
        let birdDirectory = Self.directory(of: birdConf)
        let paths: [(String, String)] = [("--tinc-dir", tinc), ("--bird-conf", birdConf), ("--bird-template-file", birdTemplateFile ?? ""),
                                         ("--bird-peers-file", birdPeersFile ?? ""), ("--bird-socket", birdSocket),
                                         ("--config", configFile), ("--state-dir", stateDir)]
        for (flag, path) in paths where !path.isEmpty || flag == "--tinc-dir" {
            guard Self.isSafePath(path) else {
                throw .invalid(flag: flag, value: path, reason: "expected an absolute path without .. or control characters")
            }
        }
        var extra: [(key: String, values: [String])] = []
        for item in settings {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw .invalid(flag: "--set", value: item, reason: "expected KEY=VALUE, like log.level=debug")
            }
            let key = String(item[..<eq]), value = String(item[item.index(after: eq)...])
            guard key.utf8.allSatisfy({ $0 == 0x2E || $0 == 0x2D || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }),
                  !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .invalid(flag: "--set", value: item, reason: "a key is a dotted setting name; the value one line of text")
            }
            if let i = extra.firstIndex(where: { $0.key == key }) { extra[i].values.append(value) } else { extra.append((key, [value])) }
        }
        return JoinSpec(
            name: node, etcdEndpoints: etcdEndpoints, underlay: underlay, underlayFamily: underlayPrefix.family,
            overlays: parsed, announce: announced, meshPrefixes: mesh, net: net, interface: interface, port: port, asn: asn,
            routerID: rid, keyBits: keyBits, tincDir: tinc, birdConf: birdConf,
            birdTemplateFile: birdTemplateFile ?? birdDirectory + "/bgpmesh-template.conf",
            birdPeersFile: birdPeersFile ?? birdDirectory + "/bgpmesh-peers.conf",
            birdTemplate: birdTemplate, birdSocket: birdSocket, configFile: configFile, stateDir: stateDir, listen: listen,
            settings: extra)
    }

    static func isSafeComponent(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D }
    }

    static func isSafePath(_ s: String) -> Bool {
        s.hasPrefix("/") && s.utf8.count < 4096 && !s.utf8.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0x22 }
            && !s.split(separator: "/").contains("..") && !s.hasSuffix("/")
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
