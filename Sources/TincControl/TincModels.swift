/// An address as tinc prints it (`sockaddr2hostname`): `host port P`. `host` may be an IPv4 or
/// IPv6 literal, or a DNS name when tinc runs with `Hostnames = yes`.
public struct TincSocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: String

    public init(host: String, port: String) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host) port \(port)" }
}

/// Node and connection option bits (tinc 1.0 connection.h, 1.1 connection.h). tinc 1.1 also
/// keeps the peer's protocol minor version in the top byte.
public struct TincOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let indirectData = TincOptions(rawValue: 0x0001)
    public static let tcpOnly = TincOptions(rawValue: 0x0002)
    public static let pmtuDiscovery = TincOptions(rawValue: 0x0004)
    public static let clampMSS = TincOptions(rawValue: 0x0008)

    /// tinc 1.1: the protocol minor version the peer announced (`OPTION_VERSION`); 0 on 1.0.
    public var protocolMinor: Int { Int(rawValue >> 24) }
}

/// `node_status_t` bits as `bitfield_to_int` prints them (1.0.36 node.h; 1.1 adds bits 6-12).
public struct TincNodeStatus: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let validKey = TincNodeStatus(rawValue: 1 << 1)
    public static let waitingForKey = TincNodeStatus(rawValue: 1 << 2)
    public static let visited = TincNodeStatus(rawValue: 1 << 3)
    public static let reachable = TincNodeStatus(rawValue: 1 << 4)
    public static let indirect = TincNodeStatus(rawValue: 1 << 5)
    // tinc 1.1 only.
    public static let sptps = TincNodeStatus(rawValue: 1 << 6)
    public static let udpConfirmed = TincNodeStatus(rawValue: 1 << 7)
    public static let sendLocally = TincNodeStatus(rawValue: 1 << 8)
    public static let udpPacket = TincNodeStatus(rawValue: 1 << 9)
    public static let validKeyIn = TincNodeStatus(rawValue: 1 << 10)
    public static let hasAddress = TincNodeStatus(rawValue: 1 << 11)
    public static let pingSent = TincNodeStatus(rawValue: 1 << 12)
}

/// `connection_status_t` bits. Bits 0-8 mean the same in 1.0 and 1.1; above that they differ
/// (1.0.36: proxy_passed 9, tarpit 10; 1.1: control 9, pcap 10, log 11, invitation 12, ...).
public struct TincConnectionStatus: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let pinged = TincConnectionStatus(rawValue: 1 << 0)
    /// tinc 1.0: the connection finished authentication (1.1 no longer sets it).
    public static let active = TincConnectionStatus(rawValue: 1 << 1)
    public static let connecting = TincConnectionStatus(rawValue: 1 << 2)
    public static let remove = TincConnectionStatus(rawValue: 1 << 4)
    public static let timeout = TincConnectionStatus(rawValue: 1 << 5)
    public static let encryptOut = TincConnectionStatus(rawValue: 1 << 6)
    public static let decryptIn = TincConnectionStatus(rawValue: 1 << 7)
    public static let minimumSpanningTree = TincConnectionStatus(rawValue: 1 << 8)
    /// tinc 1.1: a control-socket connection (such as this client's own).
    public static let control11 = TincConnectionStatus(rawValue: 1 << 9)
}

/// Per-node traffic counters (tinc 1.1pre17 and later; not in 1.0 or 1.1pre15/16).
public struct TincTraffic: Sendable, Hashable {
    public var inPackets: UInt64
    public var inBytes: UInt64
    public var outPackets: UInt64
    public var outBytes: UInt64

    public init(inPackets: UInt64, inBytes: UInt64, outPackets: UInt64, outBytes: UInt64) {
        self.inPackets = inPackets
        self.inBytes = inBytes
        self.outPackets = outPackets
        self.outBytes = outBytes
    }
}

/// One node of tincd's graph: a line of the 1.0 SIGUSR2 `Nodes:` block or of 1.1 `dump nodes`.
public struct TincNode: Sendable, Hashable {
    public var name: String
    /// The node's UDP address; nil when tinc does not know one (`(null)`, `unknown port unknown`).
    public var address: TincSocketAddress?
    /// True for the daemon's own node (tinc prints `MYSELF` as its address).
    public var isMyself: Bool
    /// OpenSSL NID of the cipher used towards this node, 0 for none or no key yet (427 is
    /// aes-256-cbc, tinc 1.0.36's default).
    public var cipher: Int
    /// OpenSSL NID of the MAC digest, 0 for none (672 is sha256, 1.0.36's default).
    public var digest: Int
    public var macLength: Int
    public var compression: Int
    public var options: TincOptions
    public var status: TincNodeStatus
    /// Next hop of the meta graph (who forwards TCP-tunnelled traffic); nil for `-`.
    public var nexthop: String?
    /// Node UDP packets are sent through; nil for `-`. Differs from `name` when traffic is relayed.
    public var via: String?
    public var pmtu: Int
    public var minMTU: Int
    public var maxMTU: Int

    // tinc 1.1 only (nil from a 1.0 dump).
    /// Node ID (hex of the first 6 bytes of SHA-512 of the name).
    public var id: String?
    public var distance: Int?
    /// Unix time of the last reachability change.
    public var lastStateChange: Int?
    /// UDP ping round-trip time in microseconds (1.1pre17+); nil when unknown (tinc sends -1).
    public var udpPingRTTMicroseconds: Int?
    /// 1.1pre17+.
    public var traffic: TincTraffic?

    public init(name: String, address: TincSocketAddress?, isMyself: Bool, cipher: Int, digest: Int, macLength: Int,
                compression: Int, options: TincOptions, status: TincNodeStatus, nexthop: String?, via: String?,
                pmtu: Int, minMTU: Int, maxMTU: Int, id: String? = nil, distance: Int? = nil,
                lastStateChange: Int? = nil, udpPingRTTMicroseconds: Int? = nil, traffic: TincTraffic? = nil) {
        self.name = name
        self.address = address
        self.isMyself = isMyself
        self.cipher = cipher
        self.digest = digest
        self.macLength = macLength
        self.compression = compression
        self.options = options
        self.status = status
        self.nexthop = nexthop
        self.via = via
        self.pmtu = pmtu
        self.minMTU = minMTU
        self.maxMTU = maxMTU
        self.id = id
        self.distance = distance
        self.lastStateChange = lastStateChange
        self.udpPingRTTMicroseconds = udpPingRTTMicroseconds
        self.traffic = traffic
    }

    public var isReachable: Bool { status.contains(.reachable) }
    public var hasValidKey: Bool { status.contains(.validKey) }
    /// The `indirect` status bit: tinc will not send UDP to this node directly (IndirectData or TCPOnly).
    public var isIndirect: Bool { status.contains(.indirect) }
    /// True when this node's traffic does not go straight to it: the meta next hop or the UDP
    /// relay is another node. This is what "indirect after a cut link" looks like in 1.0.
    public var isRelayed: Bool {
        guard !isMyself, isReachable else { return false }
        return (nexthop != nil && nexthop != name) || (via != nil && via != name)
    }
}

/// One directed edge of the graph: `from` has a meta connection to `to`.
public struct TincEdge: Sendable, Hashable {
    public var from: String
    public var to: String
    /// The address `from` sees `to` at; nil when unknown.
    public var address: TincSocketAddress?
    /// tinc 1.1 only: `from`'s local address of the connection.
    public var localAddress: TincSocketAddress?
    public var options: TincOptions
    public var weight: Int

    public init(from: String, to: String, address: TincSocketAddress?, localAddress: TincSocketAddress? = nil,
                options: TincOptions, weight: Int) {
        self.from = from
        self.to = to
        self.address = address
        self.localAddress = localAddress
        self.options = options
        self.weight = weight
    }
}

/// One meta connection of the dumping tincd (1.0 SIGUSR1, 1.1 `dump connections`).
public struct TincConnection: Sendable, Hashable {
    /// The peer's name; `<unknown>` until the peer has sent its ID (see `isIdentified`).
    public var name: String
    public var address: TincSocketAddress?
    public var options: TincOptions
    public var socket: Int
    public var status: TincConnectionStatus
    /// tinc 1.0 only: output buffer size, start and length (`outbuf %d/%d/%d`).
    public var outbufSize: Int?
    public var outbufStart: Int?
    public var outbufLength: Int?

    public init(name: String, address: TincSocketAddress?, options: TincOptions, socket: Int, status: TincConnectionStatus,
                outbufSize: Int? = nil, outbufStart: Int? = nil, outbufLength: Int? = nil) {
        self.name = name
        self.address = address
        self.options = options
        self.socket = socket
        self.status = status
        self.outbufSize = outbufSize
        self.outbufStart = outbufStart
        self.outbufLength = outbufLength
    }

    /// False for an incoming connection that has not sent its ID yet (tinc names it `<unknown>`).
    public var isIdentified: Bool { name != "<unknown>" }
    /// tinc 1.1: the control connection itself (`<control>`).
    public var isControl: Bool { name == "<control>" }
}

/// tinc's device statistics (1.0 SIGUSR2 `Statistics for ...`).
public struct TincDeviceStatistics: Sendable, Hashable {
    /// `device_info` and the device path, e.g. `Linux tun/tap device (tap mode)` and `/dev/net/tun`.
    public var deviceInfo: String
    public var device: String
    public var totalBytesIn: UInt64
    public var totalBytesOut: UInt64

    public init(deviceInfo: String, device: String, totalBytesIn: UInt64, totalBytesOut: UInt64) {
        self.deviceInfo = deviceInfo
        self.device = device
        self.totalBytesIn = totalBytesIn
        self.totalBytesOut = totalBytesOut
    }
}
