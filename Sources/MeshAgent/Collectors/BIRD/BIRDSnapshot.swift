import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything one detailed read of BIRD by the sampler, immutable. Parts that failed are nil,
/// and `errors` says why, so the metrics can still show the parts that worked.
public struct BIRDSnapshot: Sendable {
    public var status: BIRDStatus?
    public var protocols: BIRDProtocolList?
    public var routeCount: BIRDRouteCount?
    /// Seconds between reading `routeCount` and `collectedAt` (the sampler refreshes counts less often).
    public var routeCountAge: Double?
    public var memory: BIRDMemory?
    public var bfd: BIRDBFDSessions?
    public var errors: [BIRDCollectionError]
    /// When the sampler read it; the reference for uptimes.
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

    /// Seconds since the sampler read it.
    public func age(at date: Date) -> Double { max(0, date.timeIntervalSince(collectedAt)) }

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

    /// The connection is gone (connect, timeout, EOF, I/O): the rest of a read is skipped.
    public var endsConnection: Bool { ["connect", "timeout", "closed", "io"].contains(kind) }
}
