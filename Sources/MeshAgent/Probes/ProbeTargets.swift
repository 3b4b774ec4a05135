import TincControl

/// Where the probe targets come from, until the registry names them: the
/// configured ones, every BGP neighbor BIRD has (in this mesh, a peer's overlay
/// address), and host routes in tinc's host files (`Subnet = a.b.c.d/32`).
enum ProbeTargets {
    static func gather(configured: [ProbeTarget], bird: BIRDSnapshot?, tinc: TincCollectorSnapshot?) -> [ProbeTarget] {
        var targets = Set(configured)
        for p in bird?.protocols?.protocols ?? [] {
            if let address = p.bgp?.neighborAddress, ProbeAddress(address) != nil {
                targets.insert(ProbeTarget(peer: p.name, address: address))
            }
        }
        let myself = tinc?.config?.name
        for (name, file) in tinc?.hosts ?? [] where name != myself {
            for subnet in file?.subnets ?? [] {
                let host = (subnet.kind == .ipv4 && subnet.prefixLength ?? 32 == 32) || (subnet.kind == .ipv6 && subnet.prefixLength ?? 128 == 128)
                if host, ProbeAddress(subnet.address) != nil { targets.insert(ProbeTarget(peer: name, address: subnet.address)) }
            }
        }
        return targets.sorted { ($0.peer, $0.address) < ($1.peer, $1.address) }
    }
}
