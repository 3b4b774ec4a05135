/// The registry's time: the instants its holds and grace periods are measured in, and its
/// waits between rounds. Tests inject one they can move forward.
public protocol RegistryClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(for duration: Duration) async throws
}

/// The monotonic clock, for the running agent.
public struct ContinuousRegistryClock: RegistryClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
