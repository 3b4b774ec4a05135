extension RepairStatusDocument {
    /// `bgp` in /api/v1/status: this node's role and topology, the reflectors, and each
    /// expected session with BIRD's state for it (`missing`: BIRD has no protocol for it).
    struct BGP: Encodable {
        struct Expected: Encodable {
            var peer: String
            var address: String
            var reflector: Bool
            /// BIRD's protocol name (absent while missing).
            var session: String?
            var state: String
        }
        var role: String
        var topology: String
        var reflectors: [String]
        /// Absent while no plan is known (no registry).
        var expected_sessions: [Expected]?
        /// Expected sessions Established; without a plan, every BIRD session Established.
        var established: Int
        /// BIRD's message while it refuses the generated peers config.
        var peers_config_refused: String?

        init(_ s: MeshState) {
            let e = s.bgpExpectation
            role = e.role.rawValue
            topology = e.topology.rawValue
            reflectors = e.reflectors
            expected_sessions = e.sessions?.map { peer in
                let session = s.session(for: peer)
                return .init(peer: peer.peer, address: peer.address, reflector: peer.reflector, session: session?.name,
                             state: session?.state ?? "missing")
            }
            established = e.sessions.map { $0.filter { s.session(for: $0)?.established == true }.count }
                ?? s.sessions.filter(\.established).count
            peers_config_refused = e.peersRefused
        }
    }
}
