/// Whether BIRD is up, from the sampler's poll counters: up once a poll succeeded since the last
/// look, down once one failed and none succeeded; unchanged when the sampler has not polled since.
struct BIRDUpTracker: Sendable, Equatable {
    private var last: (polls: UInt64, errors: UInt64)?
    private(set) var up: Bool?

    mutating func update(polls: UInt64, errors: UInt64) -> Bool? {
        if let last {
            if polls > last.polls { up = true } else if errors > last.errors { up = false }
        } else if polls > 0 {
            up = true
        }
        last = (polls, errors)
        return up
    }

    static func == (a: BIRDUpTracker, b: BIRDUpTracker) -> Bool {
        a.up == b.up && a.last?.polls == b.last?.polls && a.last?.errors == b.last?.errors
    }
}
