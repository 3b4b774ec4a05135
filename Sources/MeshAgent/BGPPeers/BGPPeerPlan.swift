/// `mesh.bgp-topology`: how the iBGP sessions of the mesh are laid out.
public enum BGPTopology: String, Sendable, CaseIterable, Codable {
    /// Every node peers with every other node (n(n-1)/2 sessions).
    case full
    /// Clients peer only with the reflectors; reflectors peer with everyone (RFC 4456).
    case reflectors
}

/// `mesh.role`: this node's part in the `reflectors` topology (ignored in `full`).
public enum BGPRole: String, Sendable, CaseIterable, Codable {
    case client
    case reflector
}

/// The BGP sessions this node should have, from the registry's records and the topology.
/// Pure: the peers-file writer renders it, health compares BIRD's protocols with it.
public struct BGPPeerPlan: Sendable, Equatable {
    public struct Peer: Sendable, Hashable, Comparable {
        /// The peer's node name (`[A-Za-z0-9_]+`, checked by the registry).
        public var name: String
        /// The BGP neighbor: the peer's first IPv4 overlay address, else its first overlay address.
        public var address: String
        /// The peer's AS number, from its record.
        public var asn: UInt32
        /// The peer is a route reflector (its record says `bgp.role: reflector`) in the `reflectors` topology.
        public var peerIsReflector: Bool
        /// This node reflects routes to and from the peer (`rr client`): this node is a reflector, the peer a client.
        public var rrClient: Bool

        public init(name: String, address: String, asn: UInt32, peerIsReflector: Bool = false, rrClient: Bool = false) {
            self.name = name
            self.address = address
            self.asn = asn
            self.peerIsReflector = peerIsReflector
            self.rrClient = rrClient
        }

        public static func < (a: Peer, b: Peer) -> Bool { a.name < b.name }
    }

    /// Why a record that the topology wants as a peer gives no session.
    public enum SkipReason: String, Sendable, Hashable {
        /// The record has no AS number (its agent did not know one yet).
        case noASN = "no_asn"
        /// The record has no overlay address to peer with.
        case noAddress = "no_address"
    }

    public var topology: BGPTopology
    /// This node's effective role: always `client` in the full topology... reported as configured.
    public var role: BGPRole
    /// The sessions to configure, sorted by name.
    public var peers: [Peer]
    /// Names the topology wants but whose record cannot give a session, sorted by name.
    public var skipped: [String: SkipReason]
    /// The mesh's reflectors (this node included when it is one), sorted; empty in `full`.
    public var reflectors: [String]

    /// The plan for node `me` with role `role`. `records` holds every valid record (this node's
    /// own included or not: it is ignored); a record's role is its `bgp.role`, but this node's
    /// role is the configured one, so a role change takes effect before the record is published.
    public static func make(me: String, role: BGPRole, topology: BGPTopology, records: some Sequence<NodeRecord>) -> BGPPeerPlan {
        let others = records.filter { $0.name != me }
        var reflectors: [String] = []
        if topology == .reflectors {
            reflectors = others.filter { $0.bgp.role == BGPRole.reflector.rawValue }.map(\.name)
            if role == .reflector { reflectors.append(me) }
            reflectors.sort()
        }
        var peers: [Peer] = []
        var skipped: [String: SkipReason] = [:]
        for record in others {
            let peerIsReflector = topology == .reflectors && record.bgp.role == BGPRole.reflector.rawValue
            if topology == .reflectors && role == .client && !peerIsReflector { continue }
            guard let address = neighborAddress(record.overlay.addresses) else {
                skipped[record.name] = .noAddress
                continue
            }
            guard let asn = record.bgp.asn else {
                skipped[record.name] = .noASN
                continue
            }
            let rrClient = topology == .reflectors && role == .reflector && !peerIsReflector
            peers.append(Peer(name: record.name, address: address, asn: asn, peerIsReflector: peerIsReflector, rrClient: rrClient))
        }
        return BGPPeerPlan(topology: topology, role: role, peers: peers.sorted(), skipped: skipped, reflectors: reflectors)
    }

    /// The first IPv4 address, else the first address: one session per peer (BIRD 2 carries the
    /// IPv6 channel over it, next hops per the operator's template).
    static func neighborAddress(_ addresses: [String]) -> String? {
        addresses.first { !$0.contains(":") } ?? addresses.first
    }
}
