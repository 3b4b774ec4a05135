/// A peer to probe: its name (a tinc node or BGP protocol) and its overlay address.
public struct ProbeTarget: Sendable, Hashable {
    public var peer: String
    public var address: String

    public init(peer: String, address: String) {
        self.peer = peer
        self.address = address
    }

    /// `name=address`, as `--probe.target` takes it.
    public init?(parsing text: String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, ProbeAddress(parts[1]) != nil else { return nil }
        self.init(peer: parts[0], address: parts[1])
    }
}

/// The outcome of one probe round for one target.
public enum ProbeOutcome: Sendable, Equatable {
    case reply(rtt: Double)
    case lost
}

/// How probes are sent: ICMP echo on a raw socket (root), on an unprivileged ICMP
/// datagram socket (where `net.ipv4.ping_group_range` allows it), or a TCP connect to port 179.
public enum ProbeMethod: String, Sendable {
    case icmpRaw = "icmp_raw"
    case icmpDatagram = "icmp_dgram"
    case tcp179 = "tcp_179"
}
