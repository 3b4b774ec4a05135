extension MeshStateBuilder {
    /// `state` with the topology's expectation: each planned peer matched to BIRD's session
    /// whose neighbor is one of the peer's overlay addresses (the sessions' `peer`, as mapped
    /// above). A peer with several sessions gets the one on the planned address, else an
    /// Established one, else the first by name.
    static func expecting(_ inputs: MeshStateInputs, in state: MeshState) -> MeshState {
        var state = state
        var expectation = MeshState.BGPExpectation(role: inputs.bgpRole, topology: inputs.bgpTopology,
                                                    reflectors: inputs.bgpPlan?.reflectors ?? [], peersRefused: inputs.birdPeersRefused)
        if let plan = inputs.bgpPlan {
            let byPeer = Dictionary(grouping: state.sessions.filter { $0.peer != nil }, by: { $0.peer ?? "" })
            expectation.sessions = plan.peers.map { peer in
                let candidates = byPeer[peer.name] ?? []
                let chosen = candidates.first { $0.neighbor == peer.address } ?? candidates.first(where: \.established) ?? candidates.first
                return .init(peer: peer.name, address: peer.address, reflector: peer.peerIsReflector, session: chosen?.name)
            }
        }
        state.bgpExpectation = expectation
        return state
    }
}
