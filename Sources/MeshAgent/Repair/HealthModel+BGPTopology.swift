extension HealthModel {
    /// What the topology says is wrong with this node's sessions. Sessions BIRD does not have,
    /// and whether a reflector is reachable, are judged only while BIRD answers (`bird_down`
    /// covers the rest); a mesh without any reflector only once the registry view is current.
    static func topologyProblems(_ state: MeshState) -> [HealthProblem] {
        let bgp = state.bgpExpectation
        var problems: [HealthProblem] = []
        if let message = bgp.peersRefused {
            problems.append(.init(.birdConfigRefused, "BIRD refuses the generated peers config (\(excerpt(message))); it runs on the previous one"))
        }
        guard let expected = bgp.sessions else { return problems }
        let birdAnswers = state.birdUp == true
        if birdAnswers {
            for peer in expected where peer.session == nil {
                let what = peer.reflector ? "route reflector \(peer.peer)" : peer.peer
                problems.append(.init(.bgpSessionMissing, peer: peer.peer, "BIRD has no BGP protocol with neighbor \(peer.address) (\(what))"))
            }
        }
        guard bgp.isReflectorClient else { return problems }
        if bgp.reflectors.isEmpty {
            if state.registrySynced != false {
                problems.append(.init(.noReflectorSession, "the mesh has no route reflector (no record says bgp.role: reflector); this client has no BGP session"))
            }
            return problems
        }
        guard birdAnswers else { return problems }
        let toReflectors = expected.filter(\.reflector)
        let up = toReflectors.filter { state.session(for: $0)?.established == true }
        if up.isEmpty {
            let states = toReflectors.map { "\($0.peer): \(state.session(for: $0)?.state ?? "no protocol")" }
            let detail = states.isEmpty
                ? "reflectors \(bgp.reflectors.joined(separator: ", ")) give no session (no AS number or overlay address in their records)"
                : states.joined(separator: ", ")
            problems.append(.init(.noReflectorSession, "no BGP session to a route reflector is Established (\(detail))"))
            return problems
        }
        for peer in toReflectors {
            guard let session = state.session(for: peer), !session.established, !session.administrativelyDown else { continue }
            let since = session.downFor.map { " for \(Int($0)) s" } ?? ""
            problems.append(.init(.reflectorSessionDown, peer: peer.peer,
                                  "the session to route reflector \(peer.peer) (\(session.name)) is \(session.state)\(since); routes come through \(up.map(\.peer).joined(separator: ", ")) alone"))
        }
        return problems
    }

    /// The BGP part of the score: the share of expected sessions Established (one the operator
    /// disabled does not count; a missing one counts as down). A client of the reflectors
    /// with no session to count has no BGP at all: 0. Without a plan (no registry) or while
    /// BIRD's sessions are unknown, the share of BIRD's sessions Established, as before.
    static func bgpShare(_ state: MeshState) -> Double {
        guard state.birdUp == true, let expected = state.expectedSessions else {
            let counted = state.sessions.filter { !$0.administrativelyDown }
            return fraction(counted.filter(\.established).count, of: counted.count)
        }
        let counted = expected.filter { state.session(for: $0)?.administrativelyDown != true }
        if counted.isEmpty {
            return state.bgpExpectation.isReflectorClient && state.registrySynced != false ? 0 : 1
        }
        return fraction(counted.filter { state.session(for: $0)?.established == true }.count, of: counted.count)
    }

    /// The first line of a daemon's message, at most 200 characters.
    static func excerpt(_ message: String) -> String {
        let line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }
}
