#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The reply to `show status`: version, identity, clock and daemon state.
public struct BIRDStatus: Sendable, Equatable {
    /// `2.0.12`, from `1000-BIRD 2.0.12`.
    public var version: String
    public var routerID: String?
    public var hostname: String?
    /// Times as printed (`timeformat base`, default `iso long ms`) and parsed; nil if unparseable.
    public var serverTime: Date?
    public var lastReboot: Date?
    public var lastReconfiguration: Date?
    public var serverTimeText: String?
    public var lastRebootText: String?
    public var lastReconfigurationText: String?
    /// From the final `0013` line.
    public var daemonState: BIRDDaemonState
    /// `0024` lines, present while graceful restart recovery runs (`nest/proto.c`).
    public var gracefulRestartRecovery: Bool
    /// `  Waiting for N channels to recover`, during recovery.
    public var gracefulRestartWaitingChannels: Int?
    /// `  Wait timer is 12.345/240`, during recovery.
    public var gracefulRestartWaitTimer: BIRDTimer?

    public init(version: String, routerID: String? = nil, hostname: String? = nil, serverTime: Date? = nil,
                lastReboot: Date? = nil, lastReconfiguration: Date? = nil, serverTimeText: String? = nil,
                lastRebootText: String? = nil, lastReconfigurationText: String? = nil,
                daemonState: BIRDDaemonState, gracefulRestartRecovery: Bool = false,
                gracefulRestartWaitingChannels: Int? = nil, gracefulRestartWaitTimer: BIRDTimer? = nil) {
        self.version = version
        self.routerID = routerID
        self.hostname = hostname
        self.serverTime = serverTime
        self.lastReboot = lastReboot
        self.lastReconfiguration = lastReconfiguration
        self.serverTimeText = serverTimeText
        self.lastRebootText = lastRebootText
        self.lastReconfigurationText = lastReconfigurationText
        self.daemonState = daemonState
        self.gracefulRestartRecovery = gracefulRestartRecovery
        self.gracefulRestartWaitingChannels = gracefulRestartWaitingChannels
        self.gracefulRestartWaitTimer = gracefulRestartWaitTimer
    }
}

/// The daemon state of `show status` (BIRD 2.0.12 `cmd_show_status`).
public enum BIRDDaemonState: Sendable, Hashable {
    /// `Daemon is up and running`
    case up
    /// `Shutdown in progress`
    case shuttingDown
    /// `Reconfiguration in progress`
    case reconfiguring
    /// Any other text, kept as is.
    case other(String)

    public init(text: String) {
        switch text {
        case "Daemon is up and running": self = .up
        case "Shutdown in progress": self = .shuttingDown
        case "Reconfiguration in progress": self = .reconfiguring
        default: self = .other(text)
        }
    }

    /// A stable label value: `up`, `shutdown`, `reconfiguring`, `other`.
    public var label: String {
        switch self {
        case .up: "up"
        case .shuttingDown: "shutdown"
        case .reconfiguring: "reconfiguring"
        case .other: "other"
        }
    }
}
