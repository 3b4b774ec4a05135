/// Which tinc produced a dump; decides which optional fields can be present.
public enum TincDialect: String, Sendable, Hashable {
    /// tinc 1.0.x: SIGUSR1/SIGUSR2 dumps in the log; no node IDs, RTT or counters.
    case tinc10 = "1.0"
    /// tinc 1.1pre15 and pre16: control socket, node lines without RTT and traffic counters.
    case tinc11pre15 = "1.1pre15-16"
    /// tinc 1.1pre17 and later: node lines end with udp_ping_rtt and four traffic counters.
    case tinc11pre17 = "1.1pre17+"
}

/// Everything one dump of tincd tells: its graph (nodes, edges, subnets), its own meta
/// connections and, on 1.0, the device byte counters. Immutable input for collectors and health.
public struct TincDump: Sendable, Hashable {
    public var dialect: TincDialect
    /// The daemon that dumped (from the log prefix on 1.0, from the control greeting on 1.1).
    public var pid: Int32?
    public var nodes: [TincNode]
    public var edges: [TincEdge]
    public var subnets: [TincSubnet]
    public var connections: [TincConnection]
    /// tinc 1.0 only (SIGUSR2 `Statistics for ...`).
    public var device: TincDeviceStatistics?
    /// Body lines no parser recognised (kept, at most 20, for a debug log); they are skipped.
    public var unrecognizedLines: [String]
    /// Number of unrecognised lines, also those beyond the 20 kept.
    public var unrecognizedLineCount: Int

    public init(dialect: TincDialect, pid: Int32? = nil, nodes: [TincNode] = [], edges: [TincEdge] = [],
                subnets: [TincSubnet] = [], connections: [TincConnection] = [], device: TincDeviceStatistics? = nil,
                unrecognizedLines: [String] = [], unrecognizedLineCount: Int = 0) {
        self.dialect = dialect
        self.pid = pid
        self.nodes = nodes
        self.edges = edges
        self.subnets = subnets
        self.connections = connections
        self.device = device
        self.unrecognizedLines = unrecognizedLines
        self.unrecognizedLineCount = unrecognizedLineCount
    }

    /// The daemon's own node.
    public var myself: TincNode? { nodes.first { $0.isMyself } }

    public func node(_ name: String) -> TincNode? { nodes.first { $0.name == name } }

    mutating func noteUnrecognized(_ line: String) {
        unrecognizedLineCount += 1
        if unrecognizedLines.count < 20 { unrecognizedLines.append(TincParseError.excerpt(line)) }
    }
}

/// The blocks of one tinc 1.0 log excerpt, parsed. A part is nil when its block is not in the
/// excerpt (SIGUSR1 writes only connections; SIGUSR2 the other four).
public struct TincLogDump: Sendable, Hashable {
    public var pid: Int32?
    public var device: TincDeviceStatistics?
    public var nodes: [TincNode]?
    public var edges: [TincEdge]?
    public var subnets: [TincSubnet]?
    public var connections: [TincConnection]?
    public var unrecognizedLines: [String] = []
    public var unrecognizedLineCount = 0

    /// True when the SIGUSR2 blocks (nodes, edges, subnets) are all present.
    public var hasGraph: Bool { nodes != nil && edges != nil && subnets != nil }

    /// Combines a SIGUSR2 excerpt (graph) with a SIGUSR1 excerpt (connections) into one dump.
    public func merged(connections other: TincLogDump?) -> TincDump {
        var dump = TincDump(dialect: .tinc10, pid: pid, nodes: nodes ?? [], edges: edges ?? [], subnets: subnets ?? [],
                            connections: other?.connections ?? connections ?? [], device: device,
                            unrecognizedLines: unrecognizedLines, unrecognizedLineCount: unrecognizedLineCount)
        for line in other?.unrecognizedLines ?? [] where dump.unrecognizedLines.count < 20 { dump.unrecognizedLines.append(line) }
        dump.unrecognizedLineCount += other?.unrecognizedLineCount ?? 0
        return dump
    }
}

/// Pure parser of tinc 1.0 log excerpts.
public enum TincLogParser {
    /// Parses the last complete block of each kind. Without `pid`, the pid is the one of the last
    /// complete block in the excerpt (the newest daemon). Never throws: a malformed body line is
    /// skipped and counted in `unrecognizedLines`.
    public static func parse(_ bytes: [UInt8], pid: Int32? = nil) -> TincLogDump {
        parse(TincLogScanner.scan(bytes, pid: pid), pid: pid)
    }

    public static func parse(_ scan: TincLogScan, pid: Int32? = nil) -> TincLogDump {
        let pid = pid ?? scan.blocks.last?.pid
        var dump = TincLogDump(pid: pid)
        guard let pid else { return dump }
        if let block = scan.last(.deviceStatistics, pid: pid) {
            do { dump.device = try TincDeviceStatistics(tinc10Block: block) } catch { note(&dump, error) }
        }
        if let block = scan.last(.nodes, pid: pid) {
            dump.nodes = lines(block, &dump) { (line) throws(TincParseError) in try TincNode(tinc10Line: line) }
        }
        if let block = scan.last(.edges, pid: pid) {
            dump.edges = lines(block, &dump) { (line) throws(TincParseError) in try TincEdge(tinc10Line: line) }
        }
        if let block = scan.last(.subnets, pid: pid) {
            dump.subnets = lines(block, &dump) { (line) throws(TincParseError) in try TincSubnet(tinc10Line: line) }
        }
        if let block = scan.last(.connections, pid: pid) {
            dump.connections = lines(block, &dump) { (line) throws(TincParseError) in try TincConnection(tinc10Line: line) }
        }
        return dump
    }

    private static func lines<T>(_ block: TincLogBlock, _ dump: inout TincLogDump,
                                 _ parse: (Substring) throws(TincParseError) -> T) -> [T] {
        var out: [T] = []
        out.reserveCapacity(block.lines.count)
        for line in block.lines {
            do { out.append(try parse(Substring(line))) } catch { note(&dump, error) }
        }
        return out
    }

    private static func note(_ dump: inout TincLogDump, _ error: TincParseError) {
        dump.unrecognizedLineCount += 1
        if dump.unrecognizedLines.count < 20 { dump.unrecognizedLines.append(error.description) }
    }
}
