#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The reply to `show protocols` or `show protocols all`.
public struct BIRDProtocolList: Sendable, Equatable {
    public var protocols: [BIRDProtocol]
    /// Lines that no rule matched (a newer BIRD's additions, for example); never fatal.
    public var unrecognizedLines: Int

    public init(protocols: [BIRDProtocol] = [], unrecognizedLines: Int = 0) {
        self.protocols = protocols
        self.unrecognizedLines = unrecognizedLines
    }

    /// The protocol with this name, if any.
    public subscript(name: String) -> BIRDProtocol? {
        protocols.first { $0.name == name }
    }
}

/// One protocol: the row of `show protocols`, plus the details of `show protocols all`.
public struct BIRDProtocol: Sendable, Equatable {
    // The row (both forms).
    public var name: String
    /// The Proto column as printed: `BGP`, `Static`, `Pipe`, ...
    public var proto: String
    public var kind: BIRDProtocolKind
    /// The main channel's table; nil for `---` (BGP, Pipe, Device, BFD, ...).
    public var table: String?
    public var state: BIRDProtocolState
    /// The Since column parsed in the daemon's time zone; nil when the format is unrecognised.
    public var since: Date?
    public var sinceText: String
    /// The Info column, trailing blanks removed (`Established`, `Active        Socket: ...`,
    /// `master4 <=> extra4`, `Transport-Error`, `Alone`).
    public var info: String

    // Details (`show protocols all` only).
    /// True when the reply had a details block for this protocol.
    public var hasDetails: Bool
    public var description: String?
    public var message: String?
    public var routerID: String?
    public var vrf: String?
    public var channels: [BIRDChannel]
    /// Set for BGP. In the short form only `state` and `lastError` (taken from Info) are set.
    public var bgp: BIRDBGPInfo?
    public var rpki: BIRDRPKIInfo?
    /// Every protocol-level `remaining/configured` field by its label, e.g. `Hold timer`,
    /// `Keepalive timer`, `Connect delay`, `Error wait`, `Restart timer`, `Retry timer`.
    public var timers: [String: BIRDTimer]
    /// Protocol-level `Key: value` lines this parser has no field for.
    public var otherFields: [String: String]

    public init(name: String, proto: String, table: String?, state: BIRDProtocolState, since: Date?, sinceText: String, info: String) {
        self.name = name
        self.proto = proto
        self.kind = BIRDProtocolKind(proto: proto)
        self.table = table
        self.state = state
        self.since = since
        self.sinceText = sinceText
        self.info = info
        self.hasDetails = false
        self.channels = []
        self.timers = [:]
        self.otherFields = [:]
    }

    /// The channel with this name (`ipv4`, `vpn4-mpls`, `main` for a pipe), if any.
    public func channel(_ name: String) -> BIRDChannel? {
        channels.first { $0.name == name }
    }
}

/// The Proto column. Unknown kinds are kept by name.
public enum BIRDProtocolKind: Sendable, Hashable {
    case bgp, `static`, kernel, direct, device, bfd, ospf, pipe, rpki, babel, rip, radv, mrt, perf
    case other(String)

    public init(proto: String) {
        switch proto {
        case "BGP": self = .bgp
        case "Static": self = .static
        case "Kernel": self = .kernel
        case "Direct": self = .direct
        case "Device": self = .device
        case "BFD": self = .bfd
        case "OSPF": self = .ospf
        case "Pipe": self = .pipe
        case "RPKI": self = .rpki
        case "Babel": self = .babel
        case "RIP": self = .rip
        case "RAdv": self = .radv
        case "MRT": self = .mrt
        case "Perf": self = .perf
        default: self = .other(proto)
        }
    }
}

/// The State column (BIRD 2.0.12 `proto_state_name`).
public enum BIRDProtocolState: Sendable, Hashable {
    case up, down, start, stop, flush
    case other(String)

    public init(text: String) {
        switch text {
        case "up": self = .up
        case "down": self = .down
        case "start": self = .start
        case "stop": self = .stop
        case "flush": self = .flush
        default: self = .other(text)
        }
    }

    public var text: String {
        switch self {
        case .up: "up"
        case .down: "down"
        case .start: "start"
        case .stop: "stop"
        case .flush: "flush"
        case .other(let text): text
        }
    }
}
