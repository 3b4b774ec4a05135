/// The BGP part of `show protocols all` (BIRD 2.0.12 `bgp_show_proto_info`). Which fields
/// appear depends on the protocol state: Error wait, Connect delay and Restart timer only in
/// `start`; Neighbor ID, capabilities, Session, Source address and the hold and keepalive
/// timers only in `up`; Last error whenever one is recorded (not after a manual disable).
public struct BIRDBGPInfo: Sendable, Equatable {
    public var state: BIRDBGPState
    /// `Neighbor address:` without the `%iface` suffix BIRD appends for link-local peers.
    public var neighborAddress: String?
    /// The interface of a link-local neighbor (`fe80::1%eth0`).
    public var neighborInterface: String?
    /// Dynamic BGP: `Neighbor range:`.
    public var neighborRange: String?
    /// Printed only when not 179.
    public var neighborPort: Int?
    public var neighborAS: UInt32?
    public var localAS: UInt32?
    public var neighborID: String?
    /// `Neighbor graceful restart active`.
    public var neighborGracefulRestartActive: Bool
    public var localCapabilities: [BIRDBGPCapability]?
    public var neighborCapabilities: [BIRDBGPCapability]?
    public var session: BIRDBGPSession?
    public var sourceAddress: String?
    public var holdTimer: BIRDTimer?
    public var keepaliveTimer: BIRDTimer?
    public var errorWait: BIRDTimer?
    public var connectDelay: BIRDTimer?
    public var restartTimer: BIRDTimer?
    /// `Last error:` (also the tail of the Info column), e.g. `Socket: No route to host`.
    public var lastError: String?

    public init(state: BIRDBGPState) {
        self.state = state
        self.neighborGracefulRestartActive = false
    }
}

/// The BGP state (BIRD 2.0.12 `bgp_state_dsc`): the FSM state, `Down` while the protocol is
/// down and `Passive` for an idle passive session.
public enum BIRDBGPState: Sendable, Hashable {
    case idle, connect, active, openSent, openConfirm, established, close, down, passive
    case other(String)

    public init(text: String) {
        switch text {
        case "Idle": self = .idle
        case "Connect": self = .connect
        case "Active": self = .active
        case "OpenSent": self = .openSent
        case "OpenConfirm": self = .openConfirm
        case "Established": self = .established
        case "Close": self = .close
        case "Down": self = .down
        case "Passive": self = .passive
        default: self = .other(text)
        }
    }

    /// As BIRD prints it.
    public var text: String {
        switch self {
        case .idle: "Idle"
        case .connect: "Connect"
        case .active: "Active"
        case .openSent: "OpenSent"
        case .openConfirm: "OpenConfirm"
        case .established: "Established"
        case .close: "Close"
        case .down: "Down"
        case .passive: "Passive"
        case .other(let text): text
        }
    }
}

/// `Session:  internal multihop AS4`. BIRD marks every iBGP session multihop unless it is
/// configured `direct`.
public struct BIRDBGPSession: Sendable, Hashable {
    public var isInternal: Bool
    public var multihop: Bool
    public var routeReflector: Bool
    public var routeServer: Bool
    public var as4: Bool
    /// The line as printed.
    public var text: String

    public init(text: String) {
        self.text = text
        let words = text.split(separator: " ")
        isInternal = words.contains("internal")
        multihop = words.contains("multihop")
        routeReflector = words.contains("route-reflector")
        routeServer = words.contains("route-server")
        as4 = words.contains("AS4")
    }
}

/// One capability of `Local capabilities` / `Neighbor capabilities`: `Multiprotocol` with
/// `AF announced: ipv4 ipv6`, `Graceful restart` with `Restart time: 120`, `Hostname: x`, ...
public struct BIRDBGPCapability: Sendable, Hashable {
    public var name: String
    /// For `Name: value` capabilities (`Hostname`, `Role`).
    public var value: String?
    /// Indented `Key: value` lines under the capability (`AF announced`, `Restart time`, ...).
    public var attributes: [String: String]
    /// Indented lines without a value (`Restart recovery`).
    public var flags: [String]

    public init(name: String, value: String? = nil, attributes: [String: String] = [:], flags: [String] = []) {
        self.name = name
        self.value = value
        self.attributes = attributes
        self.flags = flags
    }
}

extension Array where Element == BIRDBGPCapability {
    /// Address families of the `Multiprotocol` capability, e.g. `["vpn4-mpls", "ipv6"]`.
    public var announcedAddressFamilies: [String] {
        guard let text = first(where: { $0.name == "Multiprotocol" })?.attributes["AF announced"] else { return [] }
        return text.split(separator: " ").map(String.init)
    }
}
