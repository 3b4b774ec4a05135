import EtcdClient
import Logging
import Synchronization

/// Polls etcd's status and member list on its own clock, so a scrape only encodes the last
/// answer (and never waits on etcd's request timeout).
public final class EtcdSampler: Sendable {
    let client: EtcdClient
    public let interval: Duration
    let clock: AgentClock
    let logger: Logger
    private let held = Mutex<EtcdSnapshot?>(nil)
    /// Fires when the first poll is done (whatever its outcome).
    public let firstPoll = OnceSignal()

    public init(client: EtcdClient, interval: Duration = .seconds(5), clock: AgentClock = .system, logger: Logger) {
        self.client = client
        self.interval = interval
        self.clock = clock
        var logger = logger
        logger[metadataKey: "collector"] = "etcd"
        self.logger = logger
    }

    /// The last poll (nil before the first).
    public var snapshot: EtcdSnapshot? { held.withLock { $0 } }

    public func run() async {
        await clock.repeatEvery(interval) { await poll() }
    }

    public func poll() async {
        let date = clock.date()
        var snapshot: EtcdSnapshot
        do {
            let status = try await client.status()
            let members = try await client.memberList()
            snapshot = EtcdSnapshot(status: status, members: members, endpoint: client.currentEndpoint, collectedAt: date)
        } catch {
            snapshot = EtcdSnapshot(endpoint: client.currentEndpoint, error: "\(error)", collectedAt: date)
            if self.snapshot?.isUp != false { logger.warning("etcd does not answer", metadata: ["error": "\(error)"]) }
        }
        held.withLock { $0 = snapshot }
        firstPoll.fire()
    }
}
