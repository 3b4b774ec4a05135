import TincControl

/// Chooses the K peers this node's tincd connects to (`conf.d/bgpmesh.conf`). Pure.
///
/// New choices go by rendezvous hashing over (self, peer): every node ranks the peers by
/// its own hash, so the choices are spread, each node is chosen by about K others, and the
/// union of K-out choices is connected with high probability. A current choice is kept
/// while it stays healthy (no churn) and replaced only after it has been unhealthy for
/// longer than the grace period; a decommissioned peer (record deleted) goes at once.
public struct ConnectToPlanner: Sendable {
    public var fanout: Int
    public var grace: Duration

    /// What the planner knows of one peer with a valid record.
    public struct Peer: Sendable, Hashable {
        public var name: TincNodeName
        /// The peer holds its `alive/` key.
        public var alive: Bool
        /// Since when it has been unhealthy: not alive, or alive but not reachable in tinc.
        /// Nil while healthy.
        public var unhealthySince: ContinuousClock.Instant?

        public init(name: TincNodeName, alive: Bool, unhealthySince: ContinuousClock.Instant? = nil) {
            self.name = name
            self.alive = alive
            self.unhealthySince = unhealthySince
        }
    }

    public init(fanout: Int, grace: Duration) {
        self.fanout = fanout
        self.grace = grace
    }

    /// The new choice, sorted by name. `current` is what the file holds now.
    public func plan(self me: TincNodeName, peers: [Peer], current: [TincNodeName], now: ContinuousClock.Instant) -> [TincNodeName] {
        let known = Dictionary(peers.filter { $0.name != me }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func rank(_ a: TincNodeName, _ b: TincNodeName) -> Bool {
            let sa = Self.score(me, a), sb = Self.score(me, b)
            return sa != sb ? sa > sb : a < b
        }
        var kept = Set(current).filter { name in
            guard let peer = known[name] else { return false }
            guard let since = peer.unhealthySince else { return true }
            return now - since < grace
        }
        if kept.count > fanout {
            kept = Set(kept.sorted(by: rank).prefix(fanout))
        }
        // New choices: alive peers, healthy ones first (a fresh mesh has no tinc reachability
        // yet, so alive is enough), each group in rendezvous order.
        let fresh = known.values.filter { $0.alive && !kept.contains($0.name) }.sorted { a, b in
            let ha = a.unhealthySince == nil, hb = b.unhealthySince == nil
            return ha != hb ? ha : rank(a.name, b.name)
        }
        for peer in fresh where kept.count < fanout { kept.insert(peer.name) }
        return kept.sorted()
    }

    /// Rendezvous weight of `peer` as seen from `node`: 64-bit FNV-1a of "node\0peer",
    /// finished with splitmix64 so neighbouring names spread. Stable across builds and
    /// machines, so every agent computes the same ranking.
    public static func score(_ node: TincNodeName, _ peer: TincNodeName) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in node.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ 0) &* 0x0000_0100_0000_01b3
        for byte in peer.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        var z = hash &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension ConnectToPlanner {
    /// Remembers, across rounds, since when each peer has been unhealthy, and turns the
    /// registry's view into the planner's input. Pure: the caller passes the time.
    public struct HealthTracker: Sendable {
        public private(set) var unhealthySince: [TincNodeName: ContinuousClock.Instant] = [:]

        public init() {}

        /// Every peer with a valid record but `me`. Healthy means alive and, when tinc's
        /// reachability is known (`reachable` not nil), reachable.
        public mutating func peers(records: some Sequence<TincNodeName>, alive: Set<TincNodeName>, reachable: Set<String>?,
                                   self me: TincNodeName, now: ContinuousClock.Instant) -> [Peer] {
            var peers: [Peer] = []
            var known: Set<TincNodeName> = []
            for name in records where name != me {
                known.insert(name)
                let isAlive = alive.contains(name)
                let healthy = isAlive && (reachable.map { $0.contains(name.rawValue) } ?? true)
                if healthy {
                    unhealthySince[name] = nil
                } else if unhealthySince[name] == nil {
                    unhealthySince[name] = now
                }
                peers.append(Peer(name: name, alive: isAlive, unhealthySince: unhealthySince[name]))
            }
            unhealthySince = unhealthySince.filter { known.contains($0.key) }
            return peers.sorted { $0.name < $1.name }
        }
    }
}
