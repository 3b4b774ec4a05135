import TincControl

/// Where the probe targets come from: the configured ones, plus every registry peer's overlay
/// addresses while the registry runs (so a new node is probed within one probe interval of its
/// record appearing; those addresses lie in `mesh.overlay-prefixes`, one per node). Without
/// registry peers: every BGP neighbor BIRD has (in this mesh, a peer's overlay address). Only
/// without a registry at all: the first host route per address family in each tinc host file
/// (`Subnet = a.b.c.d/32`), never every /32 a file lists, so a host file with hundreds of
/// subnets cannot turn the probes into a flood.
enum ProbeTargets {
    static func gather(configured: [ProbeTarget], registry: [(name: String, overlay: [String])]? = nil,
                       bird: BIRDSnapshot?, tinc: TincDumpState?) -> [ProbeTarget] {
        var targets = Set(configured)
        if let registry, !registry.isEmpty {
            for peer in registry {
                for address in peer.overlay where ProbeAddress(address) != nil { targets.insert(ProbeTarget(peer: peer.name, address: address)) }
            }
            return sorted(targets)
        }
        for p in bird?.protocols?.protocols ?? [] {
            if let address = p.bgp?.neighborAddress, ProbeAddress(address) != nil {
                targets.insert(ProbeTarget(peer: p.name, address: address))
            }
        }
        guard registry == nil else { return sorted(targets) }
        let (myself, hosts) = tinc?.state.withLock { ($0.config?.name, $0.hosts) } ?? (nil, [])
        for (name, file) in hosts where name != myself {
            for kind in [TincSubnet.Kind.ipv4, .ipv6] {
                let full = kind == .ipv4 ? 32 : 128
                if let subnet = file?.subnets.first(where: { $0.kind == kind && ($0.prefixLength ?? full) == full && ProbeAddress($0.address) != nil }) {
                    targets.insert(ProbeTarget(peer: name, address: subnet.address))
                }
            }
        }
        return sorted(targets)
    }

    private static func sorted(_ targets: Set<ProbeTarget>) -> [ProbeTarget] {
        targets.sorted { ($0.peer, $0.address) < ($1.peer, $1.address) }
    }
}
