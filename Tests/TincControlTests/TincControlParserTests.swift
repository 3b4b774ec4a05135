import TincControl
import XCTest

/// tinc 1.1 control lines, from the synthetic transcripts (written from the 1.1 format strings).
final class TincControlParserTests: XCTestCase {
    /// The `S:` lines answering `C: 18 <request>` in a transcript.
    static func replies(_ fixture: String, request: Int) throws -> [Substring] {
        var out: [Substring] = []
        var inside = false
        for line in try Fixture.text(fixture).split(separator: "\n") {
            if line.hasPrefix("C: ") { inside = line == "C: 18 \(request)"; continue }
            if inside, line.hasPrefix("S: ") { out.append(line.dropFirst(3)) }
        }
        return out
    }

    func items(_ fixture: String, _ request: TincControlRequest) throws -> [Substring] {
        var items: [Substring] = []
        var ended = false
        for line in try Self.replies(fixture, request: request.rawValue) {
            switch try TincControlParser.reply(line, to: request) {
            case .item(let item): items.append(item)
            case .end: ended = true
            case .result: XCTFail("unexpected result")
            }
        }
        XCTAssertTrue(ended)
        return items
    }

    func testPre18Nodes() throws {
        let items = try items("tinc11-pre18-session.synthetic-from-format-strings.txt", .dumpNodes)
        XCTAssertEqual(items.map { TincNode.tinc11Dialect(ofItem: $0) }, Array(repeating: .tinc11pre17, count: 4))
        let nodes = try items.map { try TincNode(tinc11Item: $0) }
        XCTAssertTrue(nodes[0].isMyself)
        XCTAssertNil(nodes[0].udpPingRTTMicroseconds, "-1 means no RTT yet")
        let node2 = nodes[1]
        XCTAssertEqual(node2.id, "8b1f2e3d4c5b")
        XCTAssertEqual(node2.address, TincSocketAddress(host: "192.0.2.2", port: "655"))
        XCTAssertEqual(node2.udpPingRTTMicroseconds, 1873)
        XCTAssertEqual(node2.traffic, TincTraffic(inPackets: 120, inBytes: 15360, outPackets: 118, outBytes: 14892))
        XCTAssertEqual(node2.distance, 1)
        XCTAssertEqual(node2.lastStateChange, 1_796_025_610)
        XCTAssertEqual(node2.options.protocolMinor, 7)
        XCTAssertTrue(node2.status.contains([.validKey, .reachable, .sptps, .udpConfirmed, .hasAddress]))
        XCTAssertTrue(nodes[2].isRelayed, "node3's meta next hop is node2")
        XCTAssertNil(nodes[3].address, "unknown port unknown")
        XCTAssertFalse(nodes[3].isReachable)
        XCTAssertNil(nodes[3].nexthop)
    }

    func testPre16NodesHaveNoRTTOrCounters() throws {
        let items = try items("tinc11-pre16-session.synthetic-from-format-strings.txt", .dumpNodes)
        XCTAssertEqual(items.map { TincNode.tinc11Dialect(ofItem: $0) }, [.tinc11pre15, .tinc11pre15])
        let nodes = try items.map { try TincNode(tinc11Item: $0) }
        XCTAssertNil(nodes[1].traffic)
        XCTAssertNil(nodes[1].udpPingRTTMicroseconds)
        XCTAssertEqual(nodes[1].lastStateChange, 1_796_025_610)
    }

    func testEdgesSubnetsConnections() throws {
        let fixture = "tinc11-pre18-session.synthetic-from-format-strings.txt"
        let edges = try items(fixture, .dumpEdges).map { try TincEdge(tinc11Item: $0) }
        XCTAssertEqual(edges.count, 4)
        XCTAssertEqual(edges[0].localAddress, TincSocketAddress(host: "192.0.2.1", port: "655"))
        XCTAssertNil(edges[2].localAddress, "unspec port unspec")
        XCTAssertEqual(edges[3].weight, 4)
        let subnets = try items(fixture, .dumpSubnets).map { try TincSubnet(tinc11Item: $0) }
        XCTAssertEqual(subnets.map(\.description), ["198.51.100.1/32", "2001:db8::1/128", "203.0.113.0/24#5", "2001:db8:ff:2::/64", "ff:ff:ff:ff:ff:ff"])
        XCTAssertNil(subnets[4].owner, "(broadcast)")
        let connections = try items(fixture, .dumpConnections).map { try TincConnection(tinc11Item: $0) }
        XCTAssertEqual(connections.map(\.name), ["node2", "<control>", "<unknown>"])
        XCTAssertTrue(connections[1].isControl)
        XCTAssertTrue(connections[1].status.contains(.control11))
        XCTAssertNil(connections[1].outbufSize)
        XCTAssertFalse(connections[2].isIdentified)
    }

    func testGreetingAndResults() throws {
        let greeting = try TincControlParser.greeting(idLine: "0 node1 17.7", ackLine: "4 0 4242")
        XCTAssertEqual(greeting.name, "node1")
        XCTAssertEqual(greeting.pid, 4242)
        XCTAssertThrowsError(try TincControlParser.greeting(idLine: "0 node1 17.7", ackLine: "4 1 4242"))
        XCTAssertEqual(try TincControlParser.reply("18 1 0", to: .reload), .result(0))
        XCTAssertEqual(try TincControlParser.reply("18 10 0", to: .retry), .result(0))
        XCTAssertThrowsError(try TincControlParser.reply("18 -1", to: .dumpNodes))
        XCTAssertThrowsError(try TincControlParser.reply("18 4", to: .dumpNodes))
        XCTAssertThrowsError(try TincControlParser.reply("8 0", to: .dumpNodes))
    }

    func testPidfiles() throws {
        XCTAssertEqual(try TincPidfile(parsing: "23094\n"), TincPidfile(pid: 23094))
        let eleven = try TincPidfile(parsing: "4242 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 127.0.0.1 port 655\n")
        XCTAssertTrue(eleven.isTinc11)
        XCTAssertEqual(eleven.address, TincSocketAddress(host: "127.0.0.1", port: "655"))
        for bad in ["", "\n", "abc", "-5", "0", "99999999999", "42 cookie", "42 zz!! 127.0.0.1 port 655"] {
            XCTAssertThrowsError(try TincPidfile(parsing: bad), bad)
        }
    }

    func testLogDestinationFromCommandLine() {
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "-n", "bgpmesh", "-c", "/x", "-D", "--logfile=/l/tincd.log", "--pidfile=/p"]),
                       .file("/l/tincd.log"))
        XCTAssertEqual(TincLogDestination.from(arguments: ["/usr/sbin/tincd", "-n", "bgpmesh", "--logfile"]), .file("/var/log/tinc.bgpmesh.log"))
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "--net=lab", "--logfile"]), .file("/var/log/tinc.lab.log"))
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "-n", "bgpmesh", "-D"]), .stderr)
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "-Dd3", "-n", "bgpmesh"]), .stderr)
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "-n", "bgpmesh"]), .syslog)
        XCTAssertEqual(TincLogDestination.from(arguments: ["tincd", "-nD"]), .syslog, "-nD is the net named D")
    }
}
