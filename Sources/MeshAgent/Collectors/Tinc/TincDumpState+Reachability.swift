import TincControl

extension TincDumpState {
    /// Names tincd reached in its last dump, or nil when there is no dump younger than
    /// `maxAge` (tincd down, or dumps failing): unknown is not unreachable.
    public func reachableNodes(maxAge: Duration) -> Set<String>? {
        state.withLock { s -> Set<String>? in
            guard s.running, let snapshot = s.snapshot, snapshot.age() <= maxAge else { return nil }
            return Set(snapshot.dump.nodes.filter(\.isReachable).map(\.name))
        }
    }
}

extension TincDumpState {
    /// Whether this net's tincd runs: checked now when the state has a process check, else as
    /// the last poll found it (nil before the first poll).
    public var daemonRunning: Bool? {
        if let process { return process() != nil }
        return state.withLock { s in s.polls == 0 ? nil : s.running }
    }

    /// tincd runs but its last dump timed out (it did not answer USR2/USR1 within the dump
    /// timeout), or another sender's last HUP or ALRM did: hung, or stopped. Checked against the
    /// live pid, so a restarted tincd is not hung.
    public var daemonHung: Bool {
        // Either witness counts: the sampler's own timed-out dump, or another sender's unanswered
        // signal (the sampler may still hold an older pid while a restarted tincd hangs).
        let witnesses = [state.withLock({ $0.hungPid }), unanswered?()].compactMap { $0 }
        guard !witnesses.isEmpty else { return false }
        if let process {
            guard let live = process() else { return false }
            return witnesses.contains(live)
        }
        return state.withLock { $0.running }
    }

    /// Peers with an identified meta connection in the last fresh dump (nil: none fresh).
    public func metaConnections(maxAge: Duration) -> Set<String>? {
        state.withLock { s -> Set<String>? in
            guard s.running, let snapshot = s.snapshot, snapshot.age() <= maxAge else { return nil }
            return Set(snapshot.dump.connections.map(\.name))
        }
    }
}
