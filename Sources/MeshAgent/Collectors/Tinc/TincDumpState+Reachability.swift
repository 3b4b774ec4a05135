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
