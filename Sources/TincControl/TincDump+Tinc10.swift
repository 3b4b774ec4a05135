// Parsers for the lines of tinc 1.0.36's log dumps. Each mirrors one format string:
//   node.c dump_nodes:       " %s at %s cipher %d digest %d maclength %d compression %d options %x
//                              status %04x nexthop %s via %s pmtu %d (min %d max %d)"
//   edge.c dump_edges:       " %s to %s at %s options %x weight %d"
//   connection.c:            " %s at %s options %x socket %d status %04x outbuf %d/%d/%d"
//   subnet.c dump_subnets:   " %s owner %s"
//   linux/device.c:          "Statistics for %s %s:", " total bytes in:  %10"PRIu64, " total bytes out: %10"PRIu64
// where each address `%s` is sockaddr2hostname's "host port P", or MYSELF, or (null).

extension TincNode {
    /// Parses one body line of the 1.0 `Nodes:` block.
    public init(tinc10Line line: Substring) throws(TincParseError) {
        var t = TincTokens(line, kind: "node")
        let name = String(try t.next("name"))
        try t.expect("at")
        let (address, myself) = try t.address("address")
        try t.expect("cipher"); let cipher = try t.int("cipher")
        try t.expect("digest"); let digest = try t.int("digest")
        try t.expect("maclength"); let macLength = try t.int("maclength")
        try t.expect("compression"); let compression = try t.int("compression")
        try t.expect("options"); let options = try t.hex("options")
        try t.expect("status"); let status = try t.hex("status")
        try t.expect("nexthop"); let nexthop = try t.name("nexthop")
        try t.expect("via"); let via = try t.name("via")
        try t.expect("pmtu"); let pmtu = try t.int("pmtu")
        try t.expect("(min"); let minMTU = try t.int("min")
        try t.expect("max")
        let maxToken = try t.next("max")
        guard maxToken.last == ")", let maxMTU = Int(maxToken.dropLast()) else { throw t.fail("max is not \"N)\"") }
        try t.requireEnd()
        self.init(name: name, address: address, isMyself: myself, cipher: cipher, digest: digest, macLength: macLength,
                  compression: compression, options: TincOptions(rawValue: options), status: TincNodeStatus(rawValue: status),
                  nexthop: nexthop, via: via, pmtu: pmtu, minMTU: minMTU, maxMTU: maxMTU)
    }
}

extension TincEdge {
    /// Parses one body line of the 1.0 `Edges:` block.
    public init(tinc10Line line: Substring) throws(TincParseError) {
        var t = TincTokens(line, kind: "edge")
        let from = String(try t.next("from"))
        try t.expect("to")
        let to = String(try t.next("to"))
        try t.expect("at")
        let (address, _) = try t.address("address")
        try t.expect("options"); let options = try t.hex("options")
        try t.expect("weight"); let weight = try t.int("weight")
        try t.requireEnd()
        self.init(from: from, to: to, address: address, options: TincOptions(rawValue: options), weight: weight)
    }
}

extension TincConnection {
    /// Parses one body line of the 1.0 `Connections:` block.
    public init(tinc10Line line: Substring) throws(TincParseError) {
        var t = TincTokens(line, kind: "connection")
        let name = String(try t.next("name"))
        try t.expect("at")
        let (address, _) = try t.address("address")
        try t.expect("options"); let options = try t.hex("options")
        try t.expect("socket"); let socket = try t.int("socket")
        try t.expect("status"); let status = try t.hex("status")
        try t.expect("outbuf")
        let outbuf = try t.next("outbuf").split(separator: "/", omittingEmptySubsequences: false)
        guard outbuf.count == 3, let size = Int(outbuf[0]), let start = Int(outbuf[1]), let length = Int(outbuf[2]) else {
            throw t.fail("outbuf is not size/start/length")
        }
        try t.requireEnd()
        self.init(name: name, address: address, options: TincOptions(rawValue: options), socket: socket,
                  status: TincConnectionStatus(rawValue: status), outbufSize: size, outbufStart: start, outbufLength: length)
    }
}

extension TincSubnet {
    /// Parses one body line of the 1.0 `Subnet list:` block (`net2str` then `owner NAME`).
    public init(tinc10Line line: Substring) throws(TincParseError) {
        var t = TincTokens(line, kind: "subnet")
        let net = try t.next("subnet")
        try t.expect("owner")
        let owner = String(try t.next("owner"))
        try t.requireEnd()
        try self.init(parsing: net, owner: owner)
    }
}

extension TincDeviceStatistics {
    /// Builds the statistics from a complete `Statistics for ...:` block.
    public init(tinc10Block block: TincLogBlock) throws(TincParseError) {
        let header = block.header
        guard header.hasPrefix("Statistics for "), header.hasSuffix(":") else {
            throw .malformedLine(kind: "device", line: header, reason: "not a statistics header")
        }
        // "Statistics for %s %s:" with device_info (has spaces) then the device path (no spaces).
        let body = header.dropFirst("Statistics for ".count).dropLast()
        let deviceInfo: Substring
        let device: Substring
        if let space = body.lastIndex(of: " ") {
            deviceInfo = body[..<space]
            device = body[body.index(after: space)...]
        } else {
            deviceInfo = body
            device = ""
        }
        var bytesIn: UInt64?
        var bytesOut: UInt64?
        for line in block.lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = UInt64(parts[1].tincTrimmed(" "))
            switch parts[0].tincTrimmed(" ") {
            case "total bytes in": bytesIn = value
            case "total bytes out": bytesOut = value
            default: continue
            }
        }
        guard let bytesIn, let bytesOut else {
            throw .malformedLine(kind: "device", line: block.lines.joined(separator: "\n"), reason: "missing total bytes in/out")
        }
        self.init(deviceInfo: String(deviceInfo), device: String(device), totalBytesIn: bytesIn, totalBytesOut: bytesOut)
    }
}

extension Substring {
    func tincTrimmed(_ set: Character) -> Substring {
        var result = self
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return result
    }
}
