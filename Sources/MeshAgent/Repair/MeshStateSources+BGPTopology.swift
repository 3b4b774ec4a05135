extension MeshStateSources {
    /// Where the BGP topology facts come from: the configured role and topology, and the plan
    /// with BIRD's verdict on it from the peers-file writer when there is one.
    public struct BGP: Sendable {
        /// What the peers-file writer last planned and whether BIRD refuses it (nil: nothing
        /// planned yet).
        public typealias WriterState = @Sendable () async -> (plan: BGPPeerPlan, refused: String?)?

        public var role: BGPRole
        public var topology: BGPTopology
        /// The peers-file writer's state (nil: no writer, `bird.peers-file` unset).
        public var writer: WriterState?

        public init(role: BGPRole = .client, topology: BGPTopology = .full, writer: WriterState? = nil) {
            self.role = role
            self.topology = topology
            self.writer = writer
        }

        /// Without a writer (the peers are the operator's) the plan still follows from the
        /// registry's records, so health knows the expected sessions all the same.
        func read(into inputs: inout MeshStateInputs, registry: RegistrySync?) async {
            inputs.bgpRole = role
            inputs.bgpTopology = topology
            if let writer, let state = await writer() {
                inputs.bgpPlan = state.plan
                inputs.birdPeersRefused = state.refused
            } else if let registry {
                inputs.bgpPlan = await registry.bgpPeerPlan(role: role, topology: topology)
            }
        }
    }
}

extension MeshStateSources.BGP {
    /// Reads the peers-file writer's state (nil: no `bird.peers-file`): its plan, and BIRD's
    /// message while BIRD refuses the file it wrote.
    public init(role: BGPRole, topology: BGPTopology, peers: BGPPeersWriter?) {
        var read: WriterState?
        if let peers { read = { @Sendable in Self.facts(peers.state) } }
        self.init(role: role, topology: topology, writer: read)
    }

    static func facts(_ state: BGPPeersState) -> (plan: BGPPeerPlan, refused: String?)? {
        state.plan.map { ($0, state.refused?.message) }
    }
}
