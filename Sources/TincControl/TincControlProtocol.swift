// tinc 1.1's control protocol (control_common.h, control.c, tincctl.c connect_tincd):
//   client: "0 ^COOKIE 0"            (ID request, the cookie from the pidfile, TINC_CTL_VERSION 0)
//   daemon: "0 NAME 17.7"            (its own ID line)
//   daemon: "4 0 PID"                (ACK, control version, pid)
//   client: "18 REQ [ARG]"           (CONTROL request)
//   daemon: "18 REQ FIELDS..." per item, then "18 REQ" alone to end a dump, or "18 REQ RESULT".

/// Control request numbers (`enum request_type`, tinc 1.1pre15-pre18).
public enum TincControlRequest: Int, Sendable, CaseIterable {
    case stop = 0, reload = 1, restart = 2, dumpNodes = 3, dumpEdges = 4, dumpSubnets = 5, dumpConnections = 6,
         dumpGraph = 7, purge = 8, setDebug = 9, retry = 10, connect = 11, disconnect = 12, dumpTraffic = 13,
         pcap = 14, log = 15

    var name: String {
        switch self {
        case .stop: "stop"
        case .reload: "reload"
        case .restart: "restart"
        case .dumpNodes: "dump nodes"
        case .dumpEdges: "dump edges"
        case .dumpSubnets: "dump subnets"
        case .dumpConnections: "dump connections"
        case .dumpGraph: "dump graph"
        case .purge: "purge"
        case .setDebug: "debug"
        case .retry: "retry"
        case .connect: "connect"
        case .disconnect: "disconnect"
        case .dumpTraffic: "dump traffic"
        case .pcap: "pcap"
        case .log: "log"
        }
    }
}

/// Pure parsers for tinc 1.1 control-socket lines.
public enum TincControlParser {
    /// `CONTROL` in tinc's request enum.
    public static let controlCode = 18
    /// The `ACK` request code the daemon ends its greeting with.
    public static let ackCode = 4

    /// The daemon's greeting: `0 NAME MAJOR.MINOR` then `4 0 PID`. Returns (name, pid).
    public static func greeting(idLine: Substring, ackLine: Substring) throws(TincParseError) -> (name: String, pid: Int32) {
        var id = TincTokens(idLine, kind: "control greeting")
        try id.expect("0")
        let name = String(try id.next("name"))
        _ = try id.next("protocol version")
        var ack = TincTokens(ackLine, kind: "control greeting")
        try ack.expect("4")
        let version = try ack.int("control version")
        guard version == 0 else { throw ack.fail("control version \(version) is not 0") }
        let pid = try ack.int("pid")
        guard pid > 0, pid <= Int(Int32.max) else { throw ack.fail("pid out of range") }
        return (name, Int32(pid))
    }

    /// Classifies one reply line to `request`: an item (its fields after `18 REQ`), the end of a
    /// dump (`18 REQ`), or a result (`18 REQ N`, for reload/retry/purge).
    public enum Reply: Sendable, Equatable {
        case item(Substring)
        case end
        case result(Int)
    }

    public static func reply(_ line: Substring, to request: TincControlRequest) throws(TincParseError) -> Reply {
        var t = TincTokens(line, kind: "control reply")
        let code = try t.int("code")
        guard code == controlCode else { throw t.fail("code \(code) is not CONTROL (18)") }
        let type = try t.int("request")
        if type == -1 { throw t.fail("tincd does not know request \(request.rawValue) (REQ_INVALID)") }
        guard type == request.rawValue else { throw t.fail("reply to request \(type), expected \(request.rawValue)") }
        if t.isAtEnd { return .end }
        if t.remaining == 1, let value = Int(t.peek ?? "") { return .result(value) }
        // The item is everything after the second token.
        var rest = line.drop { $0 == " " }
        for _ in 0..<2 {
            rest = rest.drop { $0 != " " }
            rest = rest.drop { $0 == " " }
        }
        return .item(rest)
    }
}

extension TincNode {
    /// Parses the fields of one `dump nodes` item (after `18 3`):
    /// 1.1pre15/16: `%s %s %s %d %d %d %d %x %x %s %s %d %d %d %d %ld` (name id hostname
    /// cipher digest maclength compression options status nexthop via distance pmtu minmtu maxmtu
    /// last_state_change), where hostname is `host port P`; pre17+ adds `%d %PRIu64 x4`
    /// (udp_ping_rtt, in_packets, in_bytes, out_packets, out_bytes).
    public init(tinc11Item item: Substring) throws(TincParseError) {
        var t = TincTokens(item, kind: "node")
        let name = String(try t.next("name"))
        let id = String(try t.next("id"))
        let (address, myself) = try t.address("hostname")
        let cipher = try t.int("cipher")
        let digest = try t.int("digest")
        let macLength = try t.int("maclength")
        let compression = try t.int("compression")
        let options = try t.hex("options")
        let status = try t.hex("status")
        let nexthop = try t.name("nexthop")
        let via = try t.name("via")
        let distance = try t.int("distance")
        let pmtu = try t.int("pmtu")
        let minMTU = try t.int("minmtu")
        let maxMTU = try t.int("maxmtu")
        let lastStateChange = try t.int("last_state_change")
        var rtt: Int?
        var traffic: TincTraffic?
        if !t.isAtEnd {
            let value = try t.int("udp_ping_rtt")
            rtt = value < 0 ? nil : value
            traffic = TincTraffic(inPackets: try t.uint64("in_packets"), inBytes: try t.uint64("in_bytes"),
                                  outPackets: try t.uint64("out_packets"), outBytes: try t.uint64("out_bytes"))
        }
        try t.requireEnd()
        self.init(name: name, address: address, isMyself: myself, cipher: cipher, digest: digest, macLength: macLength,
                  compression: compression, options: TincOptions(rawValue: options), status: TincNodeStatus(rawValue: status),
                  nexthop: nexthop, via: via, pmtu: pmtu, minMTU: minMTU, maxMTU: maxMTU, id: id, distance: distance,
                  lastStateChange: lastStateChange, udpPingRTTMicroseconds: rtt, traffic: traffic)
    }

    /// Which dialect a `dump nodes` item comes from: pre17+ items carry 5 more fields.
    public static func tinc11Dialect(ofItem item: Substring) -> TincDialect {
        item.split(separator: " ").count >= 23 ? .tinc11pre17 : .tinc11pre15
    }
}

extension TincEdge {
    /// `dump edges` item: `%s %s %s %s %x %d` (from to address local_address options weight).
    public init(tinc11Item item: Substring) throws(TincParseError) {
        var t = TincTokens(item, kind: "edge")
        let from = String(try t.next("from"))
        let to = String(try t.next("to"))
        let (address, _) = try t.address("address")
        let (local, _) = try t.address("local address")
        let options = try t.hex("options")
        let weight = try t.int("weight")
        try t.requireEnd()
        self.init(from: from, to: to, address: address, localAddress: local, options: TincOptions(rawValue: options), weight: weight)
    }
}

extension TincSubnet {
    /// `dump subnets` item: `%s %s` (net2str, owner or `(broadcast)`).
    public init(tinc11Item item: Substring) throws(TincParseError) {
        var t = TincTokens(item, kind: "subnet")
        let net = try t.next("subnet")
        let owner = try t.next("owner")
        try t.requireEnd()
        try self.init(parsing: net, owner: owner == "(broadcast)" ? nil : String(owner))
    }
}

extension TincConnection {
    /// `dump connections` item: `%s %s %x %d %x` (name hostname options socket status).
    public init(tinc11Item item: Substring) throws(TincParseError) {
        var t = TincTokens(item, kind: "connection")
        let name = String(try t.next("name"))
        let (address, _) = try t.address("hostname")
        let options = try t.hex("options")
        let socket = try t.int("socket")
        let status = try t.hex("status")
        try t.requireEnd()
        self.init(name: name, address: address, options: TincOptions(rawValue: options), socket: socket,
                  status: TincConnectionStatus(rawValue: status))
    }
}
