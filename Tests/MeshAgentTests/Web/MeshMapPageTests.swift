@testable import MeshAgent
import XCTest

final class MeshMapPageTests: XCTestCase {
    func node(_ name: String, overlay: [String] = []) -> MeshDocument.Node { .init(name: name, alive: true, overlay: overlay) }

    func view(_ name: String, _ peers: [NodeView.Peer]) -> Result<NodeView, ViewRefusal> { .success(NodeView(name: name, peers: peers)) }

    /// alpha (this node) sees bravo direct and charlie relayed with a session; bravo sees alpha
    /// relayed; charlie's view is refused.
    func sample() -> MeshDocument {
        let local = NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "direct", bgp: "Established", rttMs: 1, loss: 0),
                                                    .init(name: "charlie", tinc: "relayed", bgp: "Active"),
                                                    .init(name: "delta", tinc: "relayed"),
                                                    .init(name: "ghost", tinc: "direct")])
        return MeshDocument.merge(
            me: "alpha", registry: [node("charlie"), node("alpha"), node("bravo"), node("delta")], local: local,
            views: ["bravo": view("bravo", [.init(name: "alpha", tinc: "relayed", bgp: "Established")]),
                    "charlie": .failure(ViewRefusal("the signature does not verify")),
                    "ghost": view("ghost", [.init(name: "alpha", tinc: "direct")])])
    }

    func testMergeDrawsMetaConnectionsAndSessionsWithBothEnds() {
        let mesh = sample()
        XCTAssertEqual(mesh.nodes.map(\.name), ["alpha", "bravo", "charlie", "delta"])
        XCTAssertEqual(mesh.nodes.map(\.view), ["local", "verified", "unverified", "missing"])
        XCTAssertEqual(mesh.nodes[2].viewProblem, "the signature does not verify")
        // delta is relayed without a session: no edge; ghost is not in the registry.
        XCTAssertEqual(mesh.edges.map { "\($0.a)-\($0.b)" }, ["alpha-bravo", "alpha-charlie"])
        // The worse end wins; both ends travel with the edge.
        XCTAssertEqual(mesh.edges[0].tinc, "relayed")
        XCTAssertEqual(mesh.edges[0].bgp, "Established")
        XCTAssertEqual(mesh.edges[0].aView?.tinc, "direct")
        XCTAssertEqual(mesh.edges[0].bView?.tinc, "relayed")
        XCTAssertEqual(mesh.edges[1].bgp, "Active")
        XCTAssertNil(mesh.edges[1].bView)
        XCTAssertTrue(mesh.edges[0].label.contains("RTT ≤1 ms"), mesh.edges[0].label)
    }

    func testSVGHasOneNodePerNodeAndOneEdgePerEdge() {
        let mesh = sample()
        let svg = MeshMapPage.svg(mesh)
        XCTAssertEqual(svg.components(separatedBy: "<g class=\"node").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "<line class=\"edge").count - 1, 2)
        XCTAssertTrue(svg.contains("<g class=\"node alive view-local this\" data-name=\"alpha\">"))
        XCTAssertTrue(svg.contains("class=\"edge tinc-relayed bgp-up\" data-a=\"alpha\" data-b=\"bravo\" data-tinc=\"relayed\" data-bgp=\"Established\""))
        XCTAssertTrue(svg.contains("class=\"edge tinc-relayed bgp-down\" data-a=\"alpha\" data-b=\"charlie\""))
        XCTAssertTrue(svg.contains("view-unverified"))
    }

    func testLayoutIsDeterministicAndReadableAtSixtyFourNodes() {
        let names = (1...64).map { "node\($0)" }
        let places = MeshMapPage.layout(names)
        XCTAssertEqual(places.count, 64)
        XCTAssertEqual(Set(places.values.map { "\($0.x),\($0.y)" }).count, 64, "two nodes on one spot")
        let sorted = names.sorted { MeshMapPage.naturalKey($0).lexicographicallyPrecedes(MeshMapPage.naturalKey($1)) }.map { places[$0]! }
        // Neighbours on the circle are at least a node's diameter and a gap apart.
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            XCTAssertGreaterThanOrEqual(Double((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot(), 18)
        }
        XCTAssertEqual(places["node1"]?.x, 400)
        // Numbers in names by value: node2 follows node1 on the circle, node64 closes it.
        XCTAssertLessThan(places["node2"]!.angle, places["node10"]!.angle)
        XCTAssertEqual(places["node64"]!.angle, places.values.map(\.angle).max())
        XCTAssertEqual(MeshMapPage.naturalKey("a10b2"), ["a", "00000000000000000010", "b", "00000000000000000002"])
        let registry = names.map { node($0) }
        let local = NodeView(name: "node1", peers: names.dropFirst().map { .init(name: $0, tinc: "relayed", bgp: "Established") })
        let one = MeshDocument.merge(me: "node1", registry: registry, local: local, views: [:])
        let shuffled = MeshDocument.merge(me: "node1", registry: registry.shuffled(), local: local, views: [:])
        let page = MeshMapPage.render(mesh: one, status: nil, version: "v", collectors: [], api: true)
        XCTAssertEqual(page, MeshMapPage.render(mesh: shuffled, status: nil, version: "v", collectors: [], api: true))
        XCTAssertEqual(page.components(separatedBy: "<g class=\"node").count - 1, 64)
        XCTAssertEqual(page.components(separatedBy: "<line class=\"edge").count - 1, 63)
        XCTAssertTrue(page.contains("transform=\"rotate("), "64 labels are turned along the radius")
        XCTAssertFalse(page.contains("class=\"dense\""), "63 edges are not dense")
    }

    func testEveryStringFromTheRegistryAndTheStatusIsEscaped() throws {
        let hostile = "<script>alert(1)</script>\"'&"
        var mesh = MeshDocument.merge(me: "alpha", registry: [node("alpha", overlay: [hostile]), node("bravo")],
                                      local: NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "direct")]),
                                      views: ["bravo": .failure(ViewRefusal(hostile))])
        mesh.edges[0].label = hostile
        let status = try StatusDigest.decode(Array("""
            {"node": "alpha", "health": {"score": 0.5, "problems": [{"kind": "x", "peer": "bravo", "reason": "\(hostile.replacingOccurrences(of: "\"", with: "\\\""))"}]},
             "peers": [{"name": "bravo", "alive": true, "host_file": "<b>"}],
             "sessions": [{"name": "<img src=x onerror=alert(1)>", "state": "<i>", "established": false}],
             "recent_actions": [{"time": 1, "action": "<u>", "target": "bravo", "result": "ok", "reason": "</td>"}]}
            """.utf8))
        let page = MeshMapPage.render(mesh: mesh, status: status, version: hostile, collectors: [.init(name: "x", success: false, error: hostile)],
                                      api: true)
        for raw in ["<script>alert", "<img", "<b>", "<i>", "<u>", "</td></td>", "\"'&"] {
            XCTAssertFalse(page.contains(raw), "\(raw) reached the page unescaped")
        }
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"))
        XCTAssertTrue(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
        // The page's own script is the only one.
        XCTAssertEqual(page.components(separatedBy: "<script>").count - 1, 1)
        XCTAssertTrue(page.contains("<span id=\"score\">0.50</span>"))
    }

    func testPageWithoutAPIHasNoScript() {
        let page = MeshMapPage.render(mesh: MeshDocument.merge(me: nil, registry: [], local: nil, views: [:]), status: nil, version: "v",
                                      collectors: [], api: false)
        XCTAssertFalse(page.contains("<script>"))
        XCTAssertTrue(page.contains("aria-label=\"mesh map: 0 nodes, 0 edges\""))
    }

    func testMeshDocumentRoundTripsAsJSON() throws {
        let mesh = sample()
        XCTAssertEqual(try JSONDecoder().decode(MeshDocument.self, from: Data(mesh.json)), mesh)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(mesh.json)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["node", "nodes", "edges"])
    }
}
