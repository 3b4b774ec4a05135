import POSIXSupport
/// The tinc interface as the kernel sees it, from `/sys/class/net/<interface>`.
public struct TincInterfaceStatistics: Sendable, Hashable {
    public var interface: String
    /// `up`, `down`, `unknown` (what a tun/tap device reports while up), ...
    public var operState: String
    public var mtu: Int?
    public var rxBytes: UInt64?
    public var txBytes: UInt64?
    public var rxPackets: UInt64?
    public var txPackets: UInt64?
    public var rxErrors: UInt64?
    public var txErrors: UInt64?
    public var rxDropped: UInt64?
    public var txDropped: UInt64?

    public init(interface: String, operState: String, mtu: Int? = nil, rxBytes: UInt64? = nil, txBytes: UInt64? = nil,
                rxPackets: UInt64? = nil, txPackets: UInt64? = nil, rxErrors: UInt64? = nil, txErrors: UInt64? = nil,
                rxDropped: UInt64? = nil, txDropped: UInt64? = nil) {
        self.interface = interface
        self.operState = operState
        self.mtu = mtu
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.rxPackets = rxPackets
        self.txPackets = txPackets
        self.rxErrors = rxErrors
        self.txErrors = txErrors
        self.rxDropped = rxDropped
        self.txDropped = txDropped
    }

    /// Reads `<sysfsRoot>/class/net/<interface>`. Throws when the interface does not exist
    /// (tincd not running, or another network namespace); a missing counter file is nil.
    public static func read(interface: String, sysfsRoot: String = "/sys") throws(TincFileError) -> TincInterfaceStatistics {
        guard !interface.isEmpty, interface.utf8.count <= 15, !interface.contains("/"), interface != ".", interface != "..",
              !interface.utf8.contains(0) else { throw .invalidName(interface) }
        let base = "\(sysfsRoot)/class/net/\(interface)"
        func text(_ name: String) -> Result<String, TincFileError> {
            Result { () throws(FileReadError) in try RegularFile.read("\(base)/\(name)", limit: 4096) }.mapError(TincFileError.init).map { bytes in
                String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == " " }).first.map(String.init) ?? ""
            }
        }
        func counter(_ name: String) -> UInt64? {
            (try? text("statistics/\(name)").get()).flatMap { UInt64($0) }
        }
        let operState: String
        switch text("operstate") {
        case .success(let value): operState = value
        case .failure(let error): throw error
        }
        return TincInterfaceStatistics(
            interface: interface, operState: operState, mtu: (try? text("mtu").get()).flatMap { Int($0) },
            rxBytes: counter("rx_bytes"), txBytes: counter("tx_bytes"), rxPackets: counter("rx_packets"),
            txPackets: counter("tx_packets"), rxErrors: counter("rx_errors"), txErrors: counter("tx_errors"),
            rxDropped: counter("rx_dropped"), txDropped: counter("tx_dropped"))
    }
}
