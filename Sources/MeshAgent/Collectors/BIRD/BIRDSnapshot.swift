import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything one BIRD collection read, immutable. Parts that failed are nil,
/// and `errors` says why, so the metrics can still show the parts that worked.
public struct BIRDSnapshot: Sendable {
    public var status: BIRDStatus?
    public var protocols: BIRDProtocolList?
    public var routeCount: BIRDRouteCount?
    /// Seconds since `routeCount` was read, when it came from the sampler's cache.
    public var routeCountAge: Double?
    public var memory: BIRDMemory?
    public var bfd: BIRDBFDSessions?
    public var errors: [BIRDCollectionError]
    /// When the collection ran; the reference for uptimes.
    public var collectedAt: Date

    public init(status: BIRDStatus? = nil, protocols: BIRDProtocolList? = nil, routeCount: BIRDRouteCount? = nil,
                memory: BIRDMemory? = nil, bfd: BIRDBFDSessions? = nil, errors: [BIRDCollectionError] = [],
                collectedAt: Date = Date()) {
        self.status = status
        self.protocols = protocols
        self.routeCount = routeCount
        self.memory = memory
        self.bfd = bfd
        self.errors = errors
        self.collectedAt = collectedAt
    }

    /// BIRD answered `show status` with a daemon that is up and running.
    public var isUp: Bool { status != nil }

    /// Reference time for uptimes: BIRD's own clock when it told us, else ours.
    var now: Date { status?.serverTime ?? collectedAt }
}

/// One failed command within a collection.
public struct BIRDCollectionError: Sendable, Equatable {
    /// `connect`, `timeout`, `closed`, `parse`, `daemon` or `io`: bounded, for a label.
    public var kind: String
    public var command: String
    public var message: String

    public init(_ error: BIRDControlError, command: String) {
        self.command = command
        self.message = error.description
        switch error {
        case .connect, .invalidPath: kind = "connect"
        case .timeout: kind = "timeout"
        case .closed: kind = "closed"
        case .malformed, .tooLarge, .unparsable, .unexpectedReply: kind = "parse"
        case .daemon: kind = "daemon"
        case .io, .invalidArgument: kind = "io"
        }
    }
}
