extension MeshState {
    /// What the BGP topology says this node's sessions should be: the plan (`BGPPeerPlan`) the
    /// peers file is written from, matched to BIRD's protocols by neighbor address.
    public struct BGPExpectation: Sendable, Equatable {
        /// One session the plan calls for.
        public struct Session: Sendable, Equatable {
            /// The peer's node name.
            public var peer: String
            /// The neighbor address the plan gives it.
            public var address: String
            /// The peer is a route reflector (reflectors topology).
            public var reflector: Bool
            /// BIRD's protocol for it: the session whose neighbor is one of the peer's overlay
            /// addresses (nil: BIRD has none, `bgp_session_missing`).
            public var session: String?

            public init(peer: String, address: String, reflector: Bool = false, session: String? = nil) {
                self.peer = peer
                self.address = address
                self.reflector = reflector
                self.session = session
            }
        }

        /// `mesh.role` as configured.
        public var role: BGPRole
        /// `mesh.bgp-topology`.
        public var topology: BGPTopology
        /// The sessions the plan calls for, sorted by peer; nil while no plan is known (no
        /// registry, or this node's name not yet): then every session BIRD has counts, as before.
        public var sessions: [Session]?
        /// The mesh's route reflectors (this node included when it is one); empty in `full`.
        public var reflectors: [String]
        /// BIRD's message while it refuses the last peers config written (it runs on the previous one).
        public var peersRefused: String?

        public init(role: BGPRole = .client, topology: BGPTopology = .full, sessions: [Session]? = nil, reflectors: [String] = [],
                    peersRefused: String? = nil) {
            self.role = role
            self.topology = topology
            self.sessions = sessions
            self.reflectors = reflectors
            self.peersRefused = peersRefused
        }

        /// A client in the reflectors topology: it expects sessions to the reflectors only.
        public var isReflectorClient: Bool { topology == .reflectors && role == .client }
    }

    public var bgpRole: BGPRole { bgpExpectation.role }
    public var bgpTopology: BGPTopology { bgpExpectation.topology }
    /// The sessions the plan calls for (nil: no plan known).
    public var expectedSessions: [BGPExpectation.Session]? { bgpExpectation.sessions }
    public var birdPeersRefused: String? { bgpExpectation.peersRefused }

    /// BIRD's session of that protocol name, if BIRD has it.
    public func session(named name: String) -> Session? {
        sessions.first { $0.name == name }
    }

    /// The session BIRD has for an expected peer (nil: missing).
    public func session(for expected: BGPExpectation.Session) -> Session? {
        expected.session.flatMap { session(named: $0) }
    }

    /// A session to another client of the reflectors, on a client: the plan never calls for it
    /// (the operator's own, or left from a full mesh), so the repair ladder never restarts it.
    public func isUnplannedClientSession(_ session: Session) -> Bool {
        guard bgpExpectation.isReflectorClient, let expected = bgpExpectation.sessions, let peer = session.peer else { return false }
        return !expected.contains { $0.peer == peer } && !bgpExpectation.reflectors.contains(peer)
            && peers.contains { $0.name == peer }
    }
}
