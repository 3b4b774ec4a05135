import TincControl

/// Where the probe targets come from: the configured ones, plus every registry peer's overlay
/// addresses while the registry runs (so a new node is probed within one probe interval of its
/// record appearing). Without registry peers: every BGP neighbor BIRD has (in this mesh, a
/// peer's overlay address) and host routes in tinc's host files (`Subnet = a.b.c.d/32`).
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
        let (myself, hosts) = tinc?.state.withLock { ($0.config?.name, $0.hosts) } ?? (nil, [])
        for (name, file) in hosts where name != myself {
            for subnet in file?.subnets ?? [] {
                let host = (subnet.kind == .ipv4 && subnet.prefixLength ?? 32 == 32) || (subnet.kind == .ipv6 && subnet.prefixLength ?? 128 == 128)
                if host, ProbeAddress(subnet.address) != nil { targets.insert(ProbeTarget(peer: name, address: subnet.address)) }
            }
        }
        return sorted(targets)
    }

    private static func sorted(_ targets: Set<ProbeTarget>) -> [ProbeTarget] {
        targets.sorted { ($0.peer, $0.address) < ($1.peer, $1.address) }
    }
}
