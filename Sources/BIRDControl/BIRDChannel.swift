/// One channel of a protocol, named as BIRD names it: `ipv4`, `ipv6`, `vpn4-mpls`, `flow4`,
/// `roa4`, ..., or `main` for a pipe, whose block has a different shape (peer table, import and
/// export state, import and export filter, and no State or Preference line).
public struct BIRDChannel: Sendable, Equatable {
    public var name: String
    /// `State:`; nil for a pipe.
    public var state: BIRDChannelState?
    public var table: String?
    /// Pipe only: `Peer table:`, `Import state:`, `Export state:` (`up`, `feeding`, `down`, ...).
    public var peerTable: String?
    public var importState: String?
    public var exportState: String?
    public var preference: Int?
    /// `Input filter:` (a pipe's `Import filter:`): `ACCEPT`, `REJECT`, `(unnamed)` or a name.
    public var inputFilter: String?
    /// `Output filter:` (a pipe's `Export filter:`).
    public var outputFilter: String?
    /// Limits are printed only when configured.
    public var receiveLimit: BIRDChannelLimit?
    public var importLimit: BIRDChannelLimit?
    public var exportLimit: BIRDChannelLimit?
    /// `Routes:`; absent while the channel is DOWN.
    public var routes: BIRDRouteCounters?
    /// `Route change stats:`; absent while the channel is DOWN.
    public var stats: BIRDRouteChangeStats?
    /// BGP: `BGP Next hop:` addresses (global and link-local), only while UP.
    public var bgpNextHop: [String]
    public var igpTableIPv4: String?
    public var igpTableIPv6: String?
    public var baseTable: String?
    /// BGP, during graceful restart: `Neighbor GR:` (`None`, `Regular`, `Long-lived`).
    public var neighborGracefulRestart: String?
    /// BGP: `LL stale timer:`.
    public var llStaleTimer: BIRDTimer?
    /// `GR recovery:` flags while the daemon recovers (` pending`, ` waiting`), trimmed.
    public var gracefulRestartRecovery: String?
    /// Channel-level `Key: value` lines this parser has no field for.
    public var otherFields: [String: String]

    public init(name: String) {
        self.name = name
        self.bgpNextHop = []
        self.otherFields = [:]
    }
}

/// `State:` of a channel (BIRD 2.0.12 `c_states`).
public enum BIRDChannelState: Sendable, Hashable {
    case down, start, up, flushing
    case other(String)

    public init(text: String) {
        switch text {
        case "DOWN": self = .down
        case "START": self = .start
        case "UP": self = .up
        case "FLUSHING": self = .flushing
        default: self = .other(text)
        }
    }

    public var text: String {
        switch self {
        case .down: "DOWN"
        case .start: "START"
        case .up: "UP"
        case .flushing: "FLUSHING"
        case .other(let text): text
        }
    }
}

/// A receive, import or export limit: `Import limit:   1000 [HIT]` and its `Action:` line.
public struct BIRDChannelLimit: Sendable, Hashable {
    public var limit: Int
    /// `[HIT]` after the number: the limit has been reached.
    public var hit: Bool
    public var action: BIRDLimitAction?

    public init(limit: Int, hit: Bool, action: BIRDLimitAction?) {
        self.limit = limit
        self.hit = hit
        self.action = action
    }
}

/// The action of a channel limit (BIRD 2.0.12 `channel_limit_name`).
public enum BIRDLimitAction: Sendable, Hashable {
    case warn, block, restart, disable
    case other(String)

    public init(text: String) {
        switch text {
        case "warn": self = .warn
        case "block": self = .block
        case "restart": self = .restart
        case "disable": self = .disable
        default: self = .other(text)
        }
    }

    public var text: String {
        switch self {
        case .warn: "warn"
        case .block: "block"
        case .restart: "restart"
        case .disable: "disable"
        case .other(let text): text
        }
    }
}

/// `Routes:  4 imported, 0 filtered, 3 exported, 3 preferred`. `filtered` appears only with
/// `import keep filtered`; a pipe prints neither filtered nor preferred.
public struct BIRDRouteCounters: Sendable, Hashable {
    public var imported: Int
    public var filtered: Int?
    public var exported: Int
    public var preferred: Int?

    public init(imported: Int, filtered: Int?, exported: Int, preferred: Int?) {
        self.imported = imported
        self.filtered = filtered
        self.exported = exported
        self.preferred = preferred
    }
}

/// The `Route change stats` table: four rows by five columns. BIRD prints `---` where a
/// column does not apply to a row; that is nil here, never zero.
public struct BIRDRouteChangeStats: Sendable, Hashable {
    public var importUpdates: BIRDRouteChangeRow
    public var importWithdraws: BIRDRouteChangeRow
    public var exportUpdates: BIRDRouteChangeRow
    public var exportWithdraws: BIRDRouteChangeRow

    public init(importUpdates: BIRDRouteChangeRow = .init(), importWithdraws: BIRDRouteChangeRow = .init(),
                exportUpdates: BIRDRouteChangeRow = .init(), exportWithdraws: BIRDRouteChangeRow = .init()) {
        self.importUpdates = importUpdates
        self.importWithdraws = importWithdraws
        self.exportUpdates = exportUpdates
        self.exportWithdraws = exportWithdraws
    }
}

/// One row of the route change stats; nil means `---` (not applicable) or a missing row.
public struct BIRDRouteChangeRow: Sendable, Hashable {
    public var received: Int?
    public var rejected: Int?
    public var filtered: Int?
    public var ignored: Int?
    public var accepted: Int?

    public init(received: Int? = nil, rejected: Int? = nil, filtered: Int? = nil, ignored: Int? = nil, accepted: Int? = nil) {
        self.received = received
        self.rejected = rejected
        self.filtered = filtered
        self.ignored = ignored
        self.accepted = accepted
    }
}
