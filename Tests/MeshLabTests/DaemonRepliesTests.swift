import XCTest
@testable import MeshLab

/// Parsers on output captured from tinc 1.0.36 and BIRD 2.0.12 in the lab.
final class DaemonRepliesTests: XCTestCase {
    // tincd 1.0.36 --logfile, after SIGUSR2, two nodes connected.
    let usr2 = """
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: Statistics for Linux tun/tap device (tap mode) /dev/net/tun:
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  total bytes in:         666
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  total bytes out:         70
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: Nodes:
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  node1 at MYSELF cipher 0 digest 0 maclength 0 compression 0 options c status 0018 nexthop node1 via node1 pmtu 1518 (min 0 max 1518)
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  node2 at 192.0.2.2 port 655 cipher 427 digest 672 maclength 4 compression 0 options c status 001a nexthop node2 via node2 pmtu 1518 (min 1422 max 1518)
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  node3 at 192.0.2.3 port 655 cipher 427 digest 672 maclength 4 compression 0 options c status 0002 nexthop - via - pmtu 1518 (min 0 max 1518)
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: End of nodes.
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: Edges:
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  node1 to node2 at 192.0.2.2 port 655 options c weight 0
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  node2 to node1 at 192.0.2.1 port 655 options c weight 0
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: End of edges.
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: Subnet list:
    2026-11-30 08:01:32 tinc.bgpmesh[5783]:  a:ca:51:ea:11:9c#10 owner node2
    2026-11-30 08:01:32 tinc.bgpmesh[5783]: End of subnet list.
    """

    let usr1 = """
    2026-11-30 08:10:17 tinc.bgpmesh[16133]: Connections:
    2026-11-30 08:10:17 tinc.bgpmesh[16133]:  node2 at 192.0.2.2 port 655 options c socket 7 status 01c2 outbuf 1042/0/0
    2026-11-30 08:10:17 tinc.bgpmesh[16133]:  node3 at 192.0.2.3 port 48767 options c socket 8 status 01c2 outbuf 538/0/0
    2026-11-30 08:10:17 tinc.bgpmesh[16133]: End of connections.
    """

    func testTincNodes() throws {
        let nodes = try XCTUnwrap(TincDump.nodes(usr2))
        XCTAssertEqual(nodes.map(\.name), ["node1", "node2", "node3"])
        XCTAssertEqual(nodes.map(\.reachable), [true, true, false])
        XCTAssertEqual(nodes[1].address, "192.0.2.2")
        XCTAssertEqual(nodes[0].address, "MYSELF")
    }

    func testTincIncompleteDumpIsNil() {
        let cut = usr2.components(separatedBy: "End of nodes.")[0]
        XCTAssertNil(TincDump.nodes(cut))
    }

    func testTincConnections() throws {
        let conns = try XCTUnwrap(TincDump.connections(usr1))
        XCTAssertEqual(conns, [TincDumpConnection(name: "node2", address: "192.0.2.2", port: "655"),
                               TincDumpConnection(name: "node3", address: "192.0.2.3", port: "48767")])
    }

    func testBirdProtocols() {
        let text = """
        BIRD 2.0.12 ready.
        Name       Proto      Table      State  Since         Info
        device1    Device     ---        up     08:06:48.111  
        static4    Static     master4    up     08:06:48.111  
        node2      BGP        ---        up     08:06:52.215  Established   
        node3      BGP        ---        start  08:07:27.341  Active        Socket: Connection closed
        node4      BGP        ---        start  08:07:27.341  Idle          Error: Neighbor lost
        """
        let p = BirdReplies.protocols(text)
        XCTAssertEqual(p.map(\.name), ["device1", "static4", "node2", "node3", "node4"])
        XCTAssertEqual(p.filter(\.established).map(\.name), ["node2"])
        XCTAssertEqual(p[3].info, "Active Socket: Connection closed")
        XCTAssertEqual(p[3].state, "start")
    }

    func testBirdRoutes() {
        // IPv6 routes over an IPv4 session carry `from <neighbor>` in BIRD 2.0.12; IPv4 ones do not.
        let text = """
        BIRD 2.0.12 ready.
        Table master4:
        198.51.100.0/24      unicast [direct1 08:01:41.775] * (240)
        \tdev tinc0
        203.0.113.2/32       unicast [node2 08:01:45.777] * (100) [i]
        \tvia 198.51.100.2 on tinc0
        203.0.113.1/32       blackhole [static4 08:01:41.774] * (200)

        Table master6:
        2001:db8:ff:1::/64   blackhole [static6 08:01:41.774] * (200)
        2001:db8:ff:2::/64   unicast [node2 08:01:45.777 from 198.51.100.2] * (100) [i]
        \tvia 2001:db8::2 on tinc0
                             unicast [node3 08:01:45.900 from 198.51.100.3] (100) [i]
        \tvia 2001:db8::3 on tinc0
        """
        let r = BirdReplies.routes(text)
        XCTAssertEqual(r.filter { $0.proto.hasPrefix("node") }.map(\.prefix),
                       ["203.0.113.2/32", "2001:db8:ff:2::/64", "2001:db8:ff:2::/64"])
        XCTAssertEqual(r.last, BirdRoute(table: "master6", prefix: "2001:db8:ff:2::/64", proto: "node3"))
        XCTAssertEqual(r.count, 6)
    }
}
