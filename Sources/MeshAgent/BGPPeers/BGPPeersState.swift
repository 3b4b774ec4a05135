#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the peers-file writer (`BGPPeersWriter`) last did, for health and status: a value,
/// read at any time through `BGPPeersWriter.state` (no BIRD call, no file read).
public struct BGPPeersState: Sendable, Equatable {
    /// BIRD refused the peers config the agent wrote (`configure check` or `configure`): the file
    /// holds its previous bytes again.
    public struct Refusal: Sendable, Equatable {
        /// BIRD's reply, e.g. `8002 /etc/bird/bgpmesh-peers.conf, line 5: Unknown template bgpmesh`.
        public var message: String
        /// When BIRD first refused (kept while it keeps refusing).
        public var since: Date

        public init(message: String, since: Date) {
            self.message = message
            self.since = since
        }
    }

    /// The plan the file was last rendered from; nil until the registry's first synced round.
    public var plan: BGPPeerPlan?
    /// Names whose block stays as it is although the plan has no session for them (their record
    /// is gone but within the hold, or refused), sorted.
    public var kept: [String] = []
    /// While BIRD refuses the wanted config: why and since when; nil once a config is applied.
    public var refused: Refusal?
    /// When BIRD last accepted and applied the file (`configure`).
    public var lastApplied: Date?
    /// The file exists and is not the agent's: never written. The reason, naming the path.
    public var conflict: String?
    /// The file could not be rendered or written (password file, state directory, disk): the
    /// reason. BIRD keeps what it runs.
    public var error: String?
    /// The file holds bytes BIRD has not applied yet (BIRD down or not answering: retried with backoff).
    public var pending = false

    public init() {}
}
