/// Where the health model's inputs come from: what the samplers and the registry hold.
/// Each part is optional (its collector may be off).
public struct MeshStateSources: Sendable {
    public var registry: RegistrySync?
    public var tinc: TincDumpState?
    public var tincMaxAge: Duration
    public var probes: ProbeHistory?
    public var bird: BIRDSampler?
    /// The BGP topology facts (MeshStateSources+BGPTopology.swift).
    public var bgp = BGP()
    /// This node's key rotation, if any: while it restarts tincd the repair loop leaves tincd alone.
    public var rotation: KeyRotation?

    public init(registry: RegistrySync? = nil, tinc: TincDumpState? = nil, tincMaxAge: Duration = .seconds(20),
                probes: ProbeHistory? = nil, bird: BIRDSampler? = nil) {
        self.registry = registry
        self.tinc = tinc
        self.tincMaxAge = tincMaxAge
        self.probes = probes
        self.bird = bird
    }

    /// Reads every source once (no daemon is asked: the samplers already hold their answers).
    public func read() async -> MeshStateInputs {
        var inputs = MeshStateInputs(
            registry: await registry?.health(),
            tincReachable: tinc?.reachableNodes(maxAge: tincMaxAge),
            tincConnections: tinc?.metaConnections(maxAge: tincMaxAge),
            tincdRunning: tinc?.daemonRunning,
            probes: probes?.snapshot ?? [:],
            bgp: bird?.history.snapshot(),
            bird: bird?.snapshot)
        inputs.tincdHung = tinc?.daemonHung ?? false
        inputs.birdRunning = bird?.processRunning
        inputs.birdHung = bird?.hung ?? false
        if let rotation {
            let phase = await rotation.status().phase
            inputs.tincdRotating = [RotationState.Phase.installing, .restarted, .rollingBack].map(\.rawValue).contains(phase)
        }
        await bgp.read(into: &inputs, registry: registry)
        return inputs
    }
}
