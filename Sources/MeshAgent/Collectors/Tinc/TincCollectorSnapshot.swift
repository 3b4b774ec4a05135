import TincControl

/// Everything one tinc collection read. Parts that failed are nil and
/// `errors` says why; the configuration parts need no running tincd.
public struct TincCollectorSnapshot: Sendable {
    public var running = false
    public var dump: TincDump?
    /// Seconds since the dump was taken (dumps are paced, see `minimumDumpInterval`).
    public var dumpAge: Double?
    /// Seconds the last fresh dump took (signal to last log line, or the control-socket round trip).
    public var dumpDuration: Double?
    public var config: TincServerConfig?
    public var hosts: [(name: String, file: TincHostFile?)] = []
    public var interface: TincInterfaceStatistics?
    public var errors: [String] = []

    public init() {}
}
