/// One reading of the health model's sources, as plain values: what `MeshStateBuilder` turns
/// into a `MeshState`. Tests build it by hand.
public struct MeshStateInputs: Sendable {
    /// nil: no registry.
    public var registry: RegistrySync.Health?
    /// Names tincd reached in its last fresh dump (nil: unknown).
    public var tincReachable: Set<String>?
    public var tincConnections: Set<String>?
    public var tincdRunning: Bool?
    public var probes: [String: ProbeHistory.Peer]
    /// `mesh.role` and `mesh.bgp-topology` as configured.
    public var bgpRole: BGPRole = .client
    public var bgpTopology: BGPTopology = .full
    /// The sessions the topology calls for (nil: no plan known, e.g. no registry).
    public var bgpPlan: BGPPeerPlan?
    /// BIRD's message while it refuses the last peers config (nil: accepted, or no peers file).
    public var birdPeersRefused: String?
    /// The BIRD sampler's session history (nil: BIRD collector off).
    public var bgp: BGPSessionHistory.Snapshot?
    /// The BIRD sampler's last detailed read, for the neighbor address of each session.
    public var bird: BIRDSnapshot?
    /// tincd runs but did not answer its last dump in time.
    public var tincdHung = false
    /// A key rotation is restarting tincd (or rolling back): its restart, not the repair loop's.
    public var tincdRotating = false
    /// BIRD's process runs, checked now (nil: not checked).
    public var birdRunning: Bool?
    /// BIRD runs but timed out since its last good answer.
    public var birdHung = false

    public init(registry: RegistrySync.Health? = nil, tincReachable: Set<String>? = nil, tincConnections: Set<String>? = nil,
                tincdRunning: Bool? = nil, probes: [String: ProbeHistory.Peer] = [:], bgp: BGPSessionHistory.Snapshot? = nil,
                bird: BIRDSnapshot? = nil) {
        self.registry = registry
        self.tincReachable = tincReachable
        self.tincConnections = tincConnections
        self.tincdRunning = tincdRunning
        self.probes = probes
        self.bgp = bgp
        self.bird = bird
    }
}
