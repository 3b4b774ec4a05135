import Foundation
import XCTest
@testable import MeshLab

/// Issue 17's acceptance for the mesh map and `bgpmesh-agent status`: headless Chromium loads
/// node1's `/` from the monitoring namespace; the SVG has one node per lab node and one edge per
/// tinc connection (read from the tincds themselves); after `fault cut-link node1 node2` the
/// node1-node2 edge leaves `direct` within 10 s. Screenshots go to `.build/lab-artifacts/`.
final class LabMapTests: XCTestCase {
    static let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `.build/lab-artifacts`, next to the build products.
    static var artifactsDir: String {
        let dir = LabHarness.productsDir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lab-artifacts").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs Chromium in the monitoring namespace (where every agent's address is reachable).
    func chromium(_ arguments: [String], url: String, profile: String) throws -> CommandResult {
        let binary = try XCTUnwrap(Self.chromium, "chromium is not installed (scripts/install-deps.sh browser)")
        return try Netns.exec(LabNames.monitoringNamespace,
                              [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                               "--user-data-dir=\(profile)"] + arguments + [url], timeout: 60)
    }

    /// The DOM after the page's script has refreshed it once (virtual time runs past its 5 s timer).
    func dumpDOM(_ url: String, profile: String) throws -> String {
        let r = try chromium(["--virtual-time-budget=6500", "--dump-dom"], url: url, profile: profile)
        XCTAssertTrue(r.succeeded, "chromium --dump-dom failed: \(r.stderr.suffix(2000))")
        return r.stdout
    }

    struct Edge: Hashable { var a: String, b: String, tinc: String }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let start = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// Every `<line class="edge ...">` and `<g class="node ...">` of the dumped DOM.
    static func graph(_ dom: String) -> (nodes: [String], edges: [Edge]) {
        var nodes: [String] = [], edges: [Edge] = []
        for piece in dom.components(separatedBy: "<").dropFirst() {
            let tag = piece.prefix { $0 != ">" }
            if tag.hasPrefix("g "), attribute("class", in: tag)?.hasPrefix("node") == true, let name = attribute("data-name", in: tag) {
                nodes.append(name)
            }
            if tag.hasPrefix("line "), attribute("class", in: tag)?.hasPrefix("edge") == true,
               let a = attribute("data-a", in: tag), let b = attribute("data-b", in: tag), let tinc = attribute("data-tinc", in: tag) {
                edges.append(Edge(a: a, b: b, tinc: tinc))
            }
        }
        return (nodes, edges)
    }

    func testMapShowsEveryNodeAndConnectionAndFollowsACutLink() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        if agentArgs.contains("--no-agents") { throw LabHarness.agentsAbsent("the mesh map") }
        XCTAssertNotNil(Self.chromium, "chromium is not installed (scripts/install-deps.sh browser)")
        let dir = LabHarness.newStateDir()
        defer { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        let profile = "\(dir)/chromium-profile"
        // Repair off: the cut link's effect must stay what the map shows.
        try LabHarness.labOK(["up", "--nodes", "3"] + agentArgs + ["--agent-arg=--repair.mode", "--agent-arg=off"], stateDir: dir, timeout: 180)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120"], stateDir: dir, timeout: 150)
        let lab = Lab(stateDir: dir)
        let state = try LabState.load(stateDir: dir)
        let nodes = state.nodes.map { lab.node($0) }
        let node1 = nodes[0]
        let url = "http://\(node1.agentListen)/"

        // The oracle: the tinc meta connections as the tincds list them (SIGUSR1), as unordered pairs.
        func tincPairs() -> Set<[String]> {
            var pairs = Set<[String]>()
            for n in nodes {
                for c in lab.tincDump(n, signal: SIGUSR1).flatMap(TincDump.connections) ?? [] { pairs.insert([n.name, c.name].sorted()) }
            }
            return pairs
        }
        var dom = "", graph: (nodes: [String], edges: [Edge]) = ([], []), pairs = Set<[String]>()
        // Views reach etcd within a few seconds of convergence.
        let settled = try LabHarness.eventually(60, interval: 1) {
            pairs = tincPairs()
            dom = try dumpDOM(url, profile: profile)
            graph = Self.graph(dom)
            return Set(graph.edges.filter { $0.tinc == "direct" }.map { [$0.a, $0.b] }) == pairs
        }
        XCTAssertTrue(settled, "map edges \(graph.edges) never matched the tinc connections \(pairs.sorted { $0.joined() < $1.joined() })")
        XCTAssertEqual(graph.nodes.sorted(), nodes.map(\.name).sorted(), "one SVG node per lab node")
        XCTAssertEqual(graph.edges.count, pairs.count, "one SVG edge per tinc connection: \(graph.edges)")
        XCTAssertTrue(dom.contains("g class=\"node alive view-local this\" data-name=\"node1\""), "node1 is highlighted")
        // The script's marks sit on <body> (its own source names them too).
        let body = dom.range(of: "<body").map { dom[$0.lowerBound...].prefix { $0 != ">" } } ?? ""
        try dom.write(toFile: "\(Self.artifactsDir)/map-3-nodes.html", atomically: true, encoding: .utf8)
        XCTAssertTrue(body.contains("data-refreshed=\"1\""), "the page's script did not refresh it once: \(body)")
        XCTAssertFalse(body.contains("data-refresh-error"), "the script's refresh failed: \(body)")
        let before = "\(Self.artifactsDir)/map-3-nodes.png"
        let shot = try chromium(["--virtual-time-budget=2000", "--hide-scrollbars", "--window-size=1280,900", "--screenshot=\(before)"],
                                url: url, profile: profile)
        XCTAssertTrue(shot.succeeded && FileManager.default.fileExists(atPath: before), "screenshot: \(shot.stderr.suffix(1000))")
        print("*** mesh map screenshot: \(before) ***")

        // `bgpmesh-agent status` from the monitoring namespace: every peer, and --json with /api/v1/status's fields.
        let agent = try XCTUnwrap(LabHarness.agentBinary)
        let table = try Netns.exec(LabNames.monitoringNamespace, [agent, "status", "--url", "http://\(node1.agentListen)"], timeout: 30)
        XCTAssertEqual(table.status, 0, table.stderr)
        print(table.stdout)
        for peer in nodes.dropFirst() { XCTAssertTrue(table.stdout.contains("\n\(peer.name) "), "status lacks \(peer.name):\n\(table.stdout)") }
        XCTAssertFalse(table.stdout.contains("\u{1B}["), "no colours when stdout is not a terminal")
        let json = try Netns.exec(LabNames.monitoringNamespace, [agent, "status", "--json", "--url", "http://\(node1.agentListen)"], timeout: 30)
        XCTAssertEqual(json.status, 0, json.stderr)
        let printed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "status --json is not a JSON object")
        let api = try lab.httpGet(from: LabNames.monitoringNamespace, "http://\(node1.agentListen)/api/v1/status")
        let served = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(api.utf8)) as? [String: Any])
        XCTAssertEqual(Set(printed.keys), Set(served.keys))
        // Unreachable agent: a clear error, bounded by --timeout.
        let started = Date()
        let down = try Netns.exec(LabNames.monitoringNamespace, [agent, "status", "--timeout", "2", "--url", "http://192.0.2.250:10179"], timeout: 30)
        XCTAssertEqual(down.status, 1)
        XCTAssertTrue(down.stderr.contains("cannot be reached"), down.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)

        // Cut node1-node2: the edge must leave `direct` within 10 s.
        let cut = Date()
        try LabHarness.labOK(["fault", "cut-link", "node1", "node2"], stateDir: dir)
        var edge: Edge?
        let changed = try LabHarness.eventually(20, interval: 0.5) {
            edge = Self.graph(try dumpDOM(url, profile: profile)).edges.first { [$0.a, $0.b] == ["node1", "node2"] }
            return edge.map { $0.tinc != "direct" } ?? true
        }
        let took = Date().timeIntervalSince(cut)
        print(String(format: "*** mesh map: node1-node2 edge left direct %.1f s after cut-link (now %@; goal 10 s) ***",
                     took, edge?.tinc ?? "gone"))
        XCTAssertTrue(changed, "the node1-node2 edge stayed \(edge?.tinc ?? "?")")
        XCTAssertLessThan(took, 10, "the node1-node2 edge changed after \(took) s")
        let after = "\(Self.artifactsDir)/map-3-nodes-cut.png"
        _ = try chromium(["--virtual-time-budget=2000", "--hide-scrollbars", "--window-size=1280,900", "--screenshot=\(after)"],
                         url: url, profile: profile)
        print("*** mesh map screenshot after the cut: \(after) ***")
    }
}
