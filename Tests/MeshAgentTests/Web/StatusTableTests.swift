@testable import MeshAgent
import XCTest

final class StatusTableTests: XCTestCase {
    let status = try! StatusDigest.decode(Array("""
        {"node": "alpha", "repair_mode": "on", "health": {"score": 0.75, "problems": [{"kind": "bgp_down", "peer": "charlie", "reason": "session bgpmesh_charlie down for 40 s"}]},
         "peers": [{"name": "bravo", "alive": true, "tinc_reachable": true, "meta_connection": true, "probe_rtt_seconds": 0.00123, "probe_loss_ratio": 0},
                   {"name": "charlie", "alive": false, "tinc_reachable": false, "meta_connection": false, "probe_loss_ratio": 1}],
         "sessions": [{"name": "bgpmesh_bravo", "peer": "bravo", "state": "Established", "established": true},
                      {"name": "bgpmesh_charlie", "peer": "charlie", "state": "Active", "established": false, "down_seconds": 40.5}],
         "recent_actions": [{"time": 900, "action": "bgp-restart", "target": "bgpmesh_charlie", "trigger": "auto", "result": "ok", "reason": "x"}],
         "something_new": [1, 2]}
        """.utf8))

    func testTableHasOneRowPerPeerWithEveryColumn() {
        var mesh = MeshDocument(node: "alpha", nodes: [], edges: [])
        mesh.sessions = [.init(name: "bgpmesh_bravo", state: "Established", establishedAt: 1000 - 3725)]
        let text = StatusTable.render(status: status, mesh: mesh, now: 1000, colour: false)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "alpha  health 0.75  repair on")
        XCTAssertTrue(lines[1].contains("session bgpmesh_charlie down for 40 s"))
        let header = try! XCTUnwrap(lines.first { $0.hasPrefix("PEER") })
        XCTAssertEqual(header.split(separator: " ", omittingEmptySubsequences: true).count, 8) // LAST REPAIR is two words
        let bravo = try! XCTUnwrap(lines.first { $0.hasPrefix("bravo") })
        XCTAssertEqual(bravo.split(separator: " ").map(String.init), ["bravo", "direct", "Established", "1h02m", "1.2", "ms", "0%", "-"])
        let charlie = try! XCTUnwrap(lines.first { $0.hasPrefix("charlie") })
        XCTAssertTrue(charlie.contains("down") && charlie.contains("Active") && charlie.contains("down 40s") && charlie.contains("100%"))
        XCTAssertTrue(charlie.hasSuffix("bgp-restart ok, 1m40s ago"), charlie)
        XCTAssertFalse(text.contains("\u{1B}["), "no colour unless asked")
        XCTAssertTrue(StatusTable.render(status: status, mesh: nil, now: 1000, colour: true).contains("\u{1B}[32mdirect\u{1B}[0m"))
    }

    func testPeersInNaturalOrder() throws {
        let status = try StatusDigest.decode(Array(#"{"peers": [{"name": "node10"}, {"name": "node2"}, {"name": "node1"}]}"#.utf8))
        let rows = StatusTable.render(status: status, mesh: nil, now: 0, colour: false).split(separator: "\n").filter { $0.hasPrefix("node") }
        XCTAssertEqual(rows.map { $0.split(separator: " ")[0] }, ["node1", "node2", "node10"])
    }

    func testURLFromListenAddress() {
        XCTAssertEqual(StatusTable.url(listenAddress: ":10179"), "http://127.0.0.1:10179")
        XCTAssertEqual(StatusTable.url(listenAddress: "0.0.0.0:9000"), "http://127.0.0.1:9000")
        XCTAssertEqual(StatusTable.url(listenAddress: "[::]:10179"), "http://[::1]:10179")
        XCTAssertEqual(StatusTable.url(listenAddress: "192.0.2.1:10179"), "http://192.0.2.1:10179")
        XCTAssertEqual(StatusTable.url(listenAddress: "[2001:db8::1]:80"), "http://[2001:db8::1]:80")
        XCTAssertNil(StatusTable.url(listenAddress: "nonsense"))
        XCTAssertNil(StatusTable.url(listenAddress: ":0"))
    }

    func testDurations() {
        XCTAssertEqual(StatusTable.duration(5), "5s")
        XCTAssertEqual(StatusTable.duration(125), "2m05s")
        XCTAssertEqual(StatusTable.duration(3725), "1h02m")
        XCTAssertEqual(StatusTable.duration(90000), "1d01h")
        XCTAssertEqual(StatusTable.duration(-3), "0s")
    }
}
