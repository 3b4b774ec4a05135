/// The RPKI part of `show protocols all` (BIRD 2.0.12 `rpki_show_proto_info`); absent while
/// the protocol is down.
public struct BIRDRPKIInfo: Sendable, Equatable {
    public var cacheServer: String?
    /// Printed only when it differs from the transport's default (323 for TCP, 22 for SSH).
    public var cachePort: Int?
    /// Cache state: `Established`, `Transport-Error`, `Connecting`, `Sync-Start`, ...
    public var status: String?
    /// `Unprotected over TCP` or `SSHv2`.
    public var transport: String?
    public var protocolVersion: Int?
    /// nil for `---` (no session yet).
    public var sessionID: UInt32?
    public var serialNumber: UInt32?
    /// `Last update:  before 12.345 s`: seconds since the last update; nil for `---`.
    public var lastUpdateAge: Double?
    /// nil for `---` (timer not running).
    public var refreshTimer: BIRDTimer?
    public var retryTimer: BIRDTimer?
    public var expireTimer: BIRDTimer?

    public init() {}
}
