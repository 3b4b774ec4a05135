extension RegistrySync {
    /// The BGP sessions the registry's records call for on this node, from the view alone (no
    /// file is read); nil while this node's name is unknown. The health model's expected
    /// sessions when no peers-file writer runs.
    public func bgpPeerPlan(role: BGPRole, topology: BGPTopology) -> BGPPeerPlan? {
        guard let me else { return nil }
        return BGPPeerPlan.make(me: me.rawValue, role: role, topology: topology, records: view.records.values.lazy.map(\.record))
    }
}
