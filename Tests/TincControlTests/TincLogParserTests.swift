import TincControl
import XCTest

/// The 1.0 log block finder and line parsers on dumps captured from tincd 1.0.36 in the lab.
final class TincLogParserTests: XCTestCase {
    func testAllReachable() throws {
        let dump = TincLogParser.parse(try Fixture.bytes("tinc10-node1-usr2-usr1-all-reachable.log"))
        XCTAssertEqual(dump.pid, 23094)
        XCTAssertTrue(dump.hasGraph)
        XCTAssertEqual(dump.unrecognizedLineCount, 0, "\(dump.unrecognizedLines)")
        XCTAssertEqual(dump.device, TincDeviceStatistics(deviceInfo: "Linux tun/tap device (tap mode)", device: "/dev/net/tun",
                                                          totalBytesIn: 2486, totalBytesOut: 8279))
        let nodes = try XCTUnwrap(dump.nodes)
        XCTAssertEqual(nodes.map(\.name), ["node1", "node2", "node3"])
        let myself = nodes[0]
        XCTAssertTrue(myself.isMyself)
        XCTAssertNil(myself.address)
        XCTAssertEqual(myself.status.rawValue, 0x18)
        XCTAssertTrue(myself.isReachable)
        XCTAssertFalse(myself.isRelayed)
        let node2 = nodes[1]
        XCTAssertEqual(node2, TincNode(name: "node2", address: TincSocketAddress(host: "192.0.2.2", port: "655"), isMyself: false,
                                       cipher: 427, digest: 672, macLength: 4, compression: 0,
                                       options: [.pmtuDiscovery, .clampMSS], status: [.validKey, .visited, .reachable],
                                       nexthop: "node2", via: "node2", pmtu: 1451, minMTU: 1451, maxMTU: 1451))
        XCTAssertTrue(node2.hasValidKey)
        XCTAssertFalse(node2.isIndirect)
        XCTAssertFalse(node2.isRelayed)

        let edges = try XCTUnwrap(dump.edges)
        XCTAssertEqual(edges.count, 6)
        XCTAssertEqual(edges[0], TincEdge(from: "node1", to: "node2", address: TincSocketAddress(host: "192.0.2.2", port: "655"),
                                          options: [.pmtuDiscovery, .clampMSS], weight: 5))
        let subnets = try XCTUnwrap(dump.subnets)
        XCTAssertEqual(subnets.map(\.description), ["02:9d:01:ca:d6:8d", "0e:cd:24:d8:55:2e", "ca:3d:3d:22:f5:54"])
        XCTAssertEqual(subnets.map(\.owner), ["node2", "node3", "node1"])
        XCTAssertEqual(subnets[0].kind, .mac)

        let connections = try XCTUnwrap(dump.connections)
        XCTAssertEqual(connections.count, 2)
        XCTAssertEqual(connections[0], TincConnection(name: "node2", address: TincSocketAddress(host: "192.0.2.2", port: "53687"),
                                                      options: [.pmtuDiscovery, .clampMSS], socket: 7,
                                                      status: [.active, .encryptOut, .decryptIn],
                                                      outbufSize: 549, outbufStart: 0, outbufLength: 0))
        XCTAssertTrue(connections[1].status.contains(.minimumSpanningTree))
        XCTAssertFalse(connections[0].status.contains(.minimumSpanningTree))
    }

    func testIndirectAfterCutLink() throws {
        let dump = TincLogParser.parse(try Fixture.bytes("tinc10-node1-usr2-usr1-node2-indirect-after-cut-link.log"))
        let node2 = try XCTUnwrap(dump.nodes?.first { $0.name == "node2" })
        XCTAssertTrue(node2.isReachable)
        // tinc 1.0.36 keeps `via node2` (UDP still aimed at node2) while the meta next hop is node3,
        // and the indirect bit stays clear: "relayed" is read from nexthop/via, not the bit.
        XCTAssertEqual(node2.nexthop, "node3")
        XCTAssertEqual(node2.via, "node2")
        XCTAssertFalse(node2.isIndirect)
        XCTAssertTrue(node2.isRelayed)
        XCTAssertEqual(dump.edges?.count, 4)
        XCTAssertFalse(dump.edges?.contains { $0.from == "node1" && $0.to == "node2" } ?? true)
        XCTAssertEqual(dump.connections?.map(\.name), ["node3"])
    }

    func testOneNodeUnreachable() throws {
        let dump = TincLogParser.parse(try Fixture.bytes("tinc10-node1-usr2-usr1-node2-unreachable.log"))
        XCTAssertEqual(dump.unrecognizedLineCount, 0, "\(dump.unrecognizedLines)")
        let node2 = try XCTUnwrap(dump.nodes?.first { $0.name == "node2" })
        XCTAssertFalse(node2.isReachable)
        XCTAssertNil(node2.address, "tinc 1.0 prints a NULL hostname as (null)")
        XCTAssertEqual(node2.status.rawValue, 0x20, "unreachable nodes keep a meaningless indirect bit")
        XCTAssertFalse(node2.isRelayed)
        XCTAssertEqual(node2.options.rawValue, 0)
        XCTAssertEqual(node2.minMTU, 0)
        XCTAssertEqual(node2.maxMTU, 1518)
        // Subnets of unreachable nodes stay in the list.
        XCTAssertEqual(dump.subnets?.filter { $0.owner == "node2" }.count, 1)
        XCTAssertEqual(dump.edges?.count, 2)
    }

    func testIncomingUnidentifiedConnection() throws {
        let dump = TincLogParser.parse(try Fixture.bytes("tinc10-node1-usr1-incoming-unidentified.log"))
        XCTAssertNil(dump.nodes)
        XCTAssertFalse(dump.hasGraph)
        let connections = try XCTUnwrap(dump.connections)
        XCTAssertEqual(connections.count, 3)
        let unknown = connections[2]
        XCTAssertEqual(unknown.name, "<unknown>")
        XCTAssertFalse(unknown.isIdentified)
        XCTAssertEqual(unknown.address, TincSocketAddress(host: "192.0.2.2", port: "40316"))
        XCTAssertEqual(unknown.status.rawValue, 0)
        XCTAssertTrue(connections[0].isIdentified)
    }

    func testLogWithTwoPidsPicksTheNewestOrTheAskedPid() throws {
        let bytes = try Fixture.bytes("tinc10-node2-whole-log-two-pids.log")
        let newest = TincLogParser.parse(bytes)
        XCTAssertEqual(newest.pid, 23818)
        XCTAssertEqual(newest.nodes?.count, 3)
        XCTAssertTrue(newest.nodes?.allSatisfy(\.isReachable) ?? false)
        let old = TincLogParser.parse(bytes, pid: 23101)
        XCTAssertEqual(old.pid, 23101)
        XCTAssertNotNil(old.nodes)
        let scan = TincLogScanner.scan(bytes, pid: 23818)
        XCTAssertGreaterThan(scan.foreignLines, 50, "the old pid's lines are foreign")
        XCTAssertTrue(scan.blocks.allSatisfy { $0.pid == 23818 })
    }

    func testInterleavedWriterAndOtherPid() throws {
        // Another process writes the same file between tincd's lines, and a second tincd pid
        // starts a block of its own: the blocks of the asked pid come out whole.
        let lines = try Fixture.text("tinc10-node1-usr2-usr1-all-reachable.log").split(separator: "\n")
        var mixed: [String] = []
        for (index, line) in lines.enumerated() {
            mixed.append(String(line))
            if index % 3 == 0 { mixed.append("some other daemon wrote this line \(index)") }
            if index == 5 { mixed.append("2026-11-30 08:40:56 tinc.bgpmesh[999]: Nodes:") }
            if index == 6 { mixed.append("2026-11-30 08:40:56 tinc.bgpmesh[999]:  ghost at MYSELF cipher 0 digest 0 maclength 0 compression 0 options 0 status 0018 nexthop ghost via ghost pmtu 1518 (min 0 max 1518)") }
            if index == 8 { mixed.append("\u{FF}\u{FE} not utf8 \u{00}") }
        }
        var bytes = Array(mixed.joined(separator: "\n").utf8) + [0x0A]
        bytes.insert(contentsOf: [0xFF, 0xC0, 0x0A], at: 0)
        let dump = TincLogParser.parse(bytes, pid: 23094)
        XCTAssertEqual(dump.nodes?.map(\.name), ["node1", "node2", "node3"])
        XCTAssertEqual(dump.edges?.count, 6)
        XCTAssertEqual(dump.connections?.count, 2)
        XCTAssertEqual(dump.unrecognizedLineCount, 0)
        let scan = TincLogScanner.scan(bytes)
        XCTAssertTrue(scan.incomplete.contains { $0.kind == .nodes && $0.pid == 999 })
        XCTAssertGreaterThan(scan.foreignLines, 5)
    }

    func testTruncatedLogKeepsOnlyCompleteBlocks() throws {
        let bytes = try Fixture.bytes("tinc10-node1-usr2-usr1-all-reachable.log")
        // Cut in the middle of the edges block, and in the middle of a line.
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = text.range(of: " node2 to node3")!.lowerBound
        let truncated = Array(text[..<cut].utf8) + Array("2026-11-30 08:40:56 tinc.bgpm".utf8)
        let scan = TincLogScanner.scan(truncated)
        XCTAssertEqual(scan.blocks.map(\.kind), [.deviceStatistics, .nodes])
        XCTAssertEqual(scan.incomplete.map(\.kind), [.edges])
        XCTAssertLessThan(scan.consumedBytes, truncated.count, "the partial last line is not consumed")
        let dump = TincLogParser.parse(scan)
        XCTAssertNotNil(dump.nodes)
        XCTAssertNil(dump.edges)
        XCTAssertFalse(dump.hasGraph)
    }

    func testSignalBetweenPrefixAndMessageDoublesThePrefix() {
        // logger() writes the prefix and the message with two fprintf calls; a handler that runs
        // in between puts its whole line after the first prefix.
        let log = """
        2026-11-30 08:40:56 tinc.bgpmesh[7]: 2026-11-30 08:40:56 tinc.bgpmesh[7]: Connections:
        2026-11-30 08:40:56 tinc.bgpmesh[7]:  node2 at 192.0.2.2 port 53687 options c socket 7 status 00c2 outbuf 549/0/0
        2026-11-30 08:40:56 tinc.bgpmesh[7]: End of connections.
        Flushing meta data to node2 (192.0.2.2 port 655)

        """
        let dump = TincLogParser.parse(Array(log.utf8))
        XCTAssertEqual(dump.connections?.map(\.name), ["node2"])
    }

    func testMalformedBodyLinesAreCountedNotFatal() {
        let log = """
        2026-11-30 08:40:56 tinc.bgpmesh[7]: Nodes:
        2026-11-30 08:40:56 tinc.bgpmesh[7]:  node1 at MYSELF cipher 0 digest 0 maclength 0 compression 0 options c status 0018 nexthop node1 via node1 pmtu 1518 (min 0 max 1518)
        2026-11-30 08:40:56 tinc.bgpmesh[7]:  node2 at 192.0.2.2 port 655 cipher x
        2026-11-30 08:40:56 tinc.bgpmesh[7]:  node3 at 192.0.2.3 port 655 cipher 1 digest 2 maclength 4 compression 0 options c status zz nexthop - via - pmtu 1 (min 1 max 1)
        2026-11-30 08:40:56 tinc.bgpmesh[7]: End of nodes.

        """
        let dump = TincLogParser.parse(Array(log.utf8))
        XCTAssertEqual(dump.nodes?.map(\.name), ["node1"])
        XCTAssertEqual(dump.unrecognizedLineCount, 2)
        XCTAssertTrue(dump.unrecognizedLines[0].contains("cipher"), dump.unrecognizedLines[0])
    }

    func testLineParsersRejectWithReasons() {
        XCTAssertThrowsError(try TincEdge(tinc10Line: " a to b at 192.0.2.1 port 655 options c weight")) { error in
            XCTAssertEqual((error as? TincParseError).map { "\($0)" }?.contains("missing weight"), true, "\(error)")
        }
        XCTAssertThrowsError(try TincConnection(tinc10Line: " a at 192.0.2.1 port 655 options c socket 1 status 0 outbuf 1/2"))
        XCTAssertThrowsError(try TincSubnet(tinc10Line: " 300.1.2.3/32#10 owner a"))
        XCTAssertThrowsError(try TincNode(tinc10Line: " a at MYSELF cipher 0 digest 0 maclength 0 compression 0 options c status 0018 nexthop a via a pmtu 1518 (min 0 max 1518) extra"))
    }

    func testSubnetForms() throws {
        let cases: [(String, String, TincSubnet.Kind)] = [
            ("ce:8:4f:5a:91:67#10", "ce:08:4f:5a:91:67", .mac),
            ("198.51.100.1/32#10", "198.51.100.1/32", .ipv4),
            ("198.51.100.0/24", "198.51.100.0/24", .ipv4),
            ("203.0.113.1", "203.0.113.1/32", .ipv4),
            ("2001:db8:0:0:0:0:0:1/128#10", "2001:db8::1/128", .ipv6),
            ("2001:db8:ff:2::/64#5", "2001:db8:ff:2::/64#5", .ipv6),
        ]
        for (text, canonical, kind) in cases {
            let subnet = try TincSubnet(parsing: Substring(text))
            XCTAssertEqual(subnet.description, canonical, text)
            XCTAssertEqual(subnet.kind, kind, text)
        }
        for bad in ["", "1.2.3", "1.2.3.4/33", "::/129", "aa:bb:cc:dd:ee:ff/48", "zz:1:2:3:4:5", "1.2.3.4#x", "2001:db8::1::2"] {
            XCTAssertThrowsError(try TincSubnet(parsing: Substring(bad)), bad)
        }
    }
}
