import BIRDControl
import Synchronization

/// Which mesh peer a BIRD protocol or BFD session talks to: the `peer` label of the per-protocol
/// `bird_*` series. The agent's own protocols are `bgpmesh_<peer>` (`BGPPeersFile`); any other
/// BGP protocol, and any BFD session, whose neighbor is a registry node's overlay address is that
/// node's. Everything else has `peer=""` (no label, to Prometheus).
public struct BIRDPeerNames: Sendable, Equatable {
    /// Overlay address -> node name, from the registry.
    public var overlay: [String: String]

    public init(overlay: [String: String] = [:]) {
        self.overlay = overlay
    }

    public func peer(protocol name: String, neighbor: String?) -> String {
        let prefix = BGPPeersFile.protocolPrefix
        if name.hasPrefix(prefix), name.utf8.count > prefix.utf8.count { return String(name.dropFirst(prefix.count)) }
        return neighbor.flatMap { overlay[$0] } ?? ""
    }

    /// The peer of each protocol of the list, by protocol name (BGP protocols only).
    public func byProtocol(_ protocols: [BIRDProtocol]) -> [String: String] {
        var out: [String: String] = [:]
        for p in protocols where p.bgp != nil {
            let peer = peer(protocol: p.name, neighbor: p.bgp?.neighborAddress)
            if !peer.isEmpty { out[p.name] = peer }
        }
        return out
    }

    /// The peer of a BFD session: the node whose overlay address it is, else the peer of the BGP
    /// protocol with that neighbor address.
    public func bfdPeer(address: String, protocols: [BIRDProtocol]) -> String {
        if let name = overlay[address] { return name }
        for p in protocols where p.bgp?.neighborAddress == address {
            let peer = peer(protocol: p.name, neighbor: address)
            if !peer.isEmpty { return peer }
        }
        return ""
    }
}

/// Where the `bird` collector learns the registry's overlay addresses: from what the registry
/// loop last published in its metrics (a lock, no actor hop, so a busy registry never slows a
/// scrape). The registry is made after the collector, so it is attached later; without one only
/// `bgpmesh_<peer>` names give a peer.
public final class BIRDPeerDirectory: Sendable {
    private let registry = Mutex<RegistryMetrics?>(nil)

    public init() {}

    public func attach(_ metrics: RegistryMetrics) {
        registry.withLock { $0 = metrics }
    }

    public func names() -> BIRDPeerNames {
        guard let metrics = registry.withLock({ $0 }) else { return BIRDPeerNames() }
        return BIRDPeerNames(overlay: metrics.values.withLock { $0.peerOverlays })
    }
}
