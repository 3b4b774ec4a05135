import BIRDControl

/// Turns one reading of the sources into a `MeshState`, keeping what needs memory between
/// readings: since when each peer is unreachable and each session down, and whether BIRD is up.
struct MeshStateBuilder: Sendable {
    var unreachable = SinceTracker()
    var down = SinceTracker()
    var bird = BIRDUpTracker()

    mutating func build(_ inputs: MeshStateInputs, now: ContinuousClock.Instant) -> MeshState {
        var state = MeshState()
        let registry = inputs.registry
        state.node = registry?.node
        state.registrySynced = registry?.synced
        state.connectToDrift = registry?.connectToDrift ?? false
        state.fileWriteFailures = registry?.writeFailures ?? []
        state.tincdRunning = inputs.tincdRunning
        state.tincdHung = inputs.tincdHung && inputs.tincdRunning != false
        state.tincdRotating = inputs.tincdRotating
        var overlay: [String: String] = [:]
        for peer in registry?.peers ?? [] {
            let isReachable = inputs.tincReachable.map { $0.contains(peer.name) }
            let probe = inputs.probes[peer.name]
            state.peers.append(MeshState.Peer(
                name: peer.name, alive: peer.alive, tincReachable: isReachable,
                unreachableFor: unreachable.update(peer.name, holds: isReachable == false, at: now),
                metaConnection: inputs.tincConnections.map { $0.contains(peer.name) },
                probeUp: probe?.up, probeLoss: probe?.lossRatio, probeRTT: probe?.lastRTT, hostFile: peer.hostFile))
            for address in peer.overlay { overlay[address] = peer.name }
        }
        unreachable.keep(only: Set(state.peers.map(\.name)))

        guard let bgp = inputs.bgp else { return Self.expecting(inputs, in: state) }
        state.birdUp = bird.update(polls: bgp.polls, errors: bgp.pollErrors)
        // The process checked now wins over the last poll: a BIRD that died since is down.
        if inputs.birdRunning == false { state.birdUp = false }
        state.birdHung = inputs.birdHung && inputs.birdRunning != false
        state.birdRunning = inputs.birdRunning
        let neighbors = Dictionary(
            (inputs.bird?.protocols?.protocols ?? []).compactMap { p in p.bgp?.neighborAddress.map { (p.name, $0) } },
            uniquingKeysWith: { a, _ in a })
        let names = Set(state.peers.map(\.name))
        for (name, session) in bgp.sessions.sorted(by: { $0.key < $1.key }) {
            let established = session.state == .established
            let peer = neighbors[name].flatMap { overlay[$0] } ?? (names.contains(name) ? name : nil)
            state.sessions.append(MeshState.Session(
                name: name, peer: peer, neighbor: neighbors[name], state: session.state.text, established: established,
                downFor: down.update(name, holds: !established, at: now), administrativelyDown: session.state == .down))
        }
        down.keep(only: Set(bgp.sessions.keys))
        return Self.expecting(inputs, in: state)
    }
}
