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
    /// Whether the pidfile named a live tincd at the last poll (nil before the first poll).
    public var daemonRunning: Bool? {
        state.withLock { s in s.polls == 0 ? nil : s.running }
    }

    /// Peers with an identified meta connection in the last fresh dump (nil: none fresh).
    public func metaConnections(maxAge: Duration) -> Set<String>? {
        state.withLock { s -> Set<String>? in
            guard s.running, let snapshot = s.snapshot, snapshot.age() <= maxAge else { return nil }
            return Set(snapshot.dump.connections.map(\.name))
        }
    }
}
