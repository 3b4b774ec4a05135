import Synchronization

/// The alert deliveries seen lately, so that a second delivery of the same alert (Alertmanager
/// HA peers each send it; a 5xx or timeout makes one send it again) is acted on once.
/// Bounded twice: a key is forgotten after `lifetime`, and beyond `capacity` keys the oldest goes.
public final class AlertKeyMemory: Sendable {
    private struct State {
        var expiry: [String: ContinuousClock.Instant] = [:]
        /// Keys in insertion order; with one lifetime for all, that is also expiry order.
        var order: [String] = []
        var head = 0
    }

    public let capacity: Int
    public let lifetime: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    /// `lifetime` covers HA re-sends (seconds to minutes apart); a repeat of a still-firing alert
    /// after Alertmanager's `repeat_interval` (4h by default) counts as new, so the repair loop
    /// gets another chance at it.
    public init(capacity: Int = 4096, lifetime: Duration = .seconds(3600),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        precondition(capacity > 0, "AlertKeyMemory needs room for one key")
        self.capacity = capacity
        self.lifetime = lifetime
        self.now = now
    }

    /// Remembers `key`; false if it was already remembered (the caller then skips it).
    /// Check and insert are one step, so two concurrent deliveries cannot both win.
    public func insert(_ key: String) -> Bool {
        let now = now()
        return state.withLock { s in
            Self.forgetExpired(&s, now: now)
            if s.expiry[key] != nil { return false }
            if s.expiry.count >= capacity, s.head < s.order.count {
                s.expiry[s.order[s.head]] = nil
                s.head += 1
            }
            s.expiry[key] = now + lifetime
            s.order.append(key)
            Self.compact(&s)
            return true
        }
    }

    public func contains(_ key: String) -> Bool {
        let now = now()
        return state.withLock { s in
            Self.forgetExpired(&s, now: now)
            return s.expiry[key] != nil
        }
    }

    public var count: Int {
        let now = now()
        return state.withLock { s in
            Self.forgetExpired(&s, now: now)
            return s.expiry.count
        }
    }

    private static func forgetExpired(_ s: inout State, now: ContinuousClock.Instant) {
        while s.head < s.order.count, let expiry = s.expiry[s.order[s.head]], expiry <= now {
            s.expiry[s.order[s.head]] = nil
            s.head += 1
        }
    }

    /// Drops the consumed front of `order` once it is half the array (amortised O(1)).
    private static func compact(_ s: inout State) {
        if s.head > 64, s.head * 2 > s.order.count {
            s.order.removeFirst(s.head)
            s.head = 0
        }
    }
}
