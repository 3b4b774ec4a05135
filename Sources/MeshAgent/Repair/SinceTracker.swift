/// Since when a condition has held, per key, as the agent saw it (tincd not reaching a peer, a
/// BGP session not Established). Driven by explicit instants, so tests need no clock.
struct SinceTracker: Sendable, Equatable {
    private(set) var since: [String: ContinuousClock.Instant] = [:]

    /// Records whether the condition holds for `key` at `now`; returns for how many seconds it
    /// has held (nil when it does not).
    mutating func update(_ key: String, holds: Bool, at now: ContinuousClock.Instant) -> Double? {
        guard holds else {
            since[key] = nil
            return nil
        }
        let start = since[key] ?? now
        since[key] = start
        return (now - start).seconds
    }

    /// Forgets every key not in `keys` (a peer or session that went away).
    mutating func keep(only keys: Set<String>) {
        since = since.filter { keys.contains($0.key) }
    }
}
