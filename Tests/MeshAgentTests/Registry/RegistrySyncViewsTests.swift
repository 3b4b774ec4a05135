import EtcdClient
import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// Views (issue 17) against the real etcd of `RegistrySyncTests`: each agent puts its signed
/// view on its lease, the others verify it with the key they trust for that name, and refuse
/// a forged or broken value with a reason.
extension RegistrySyncTests {
    func view(_ name: String, of node: String) async -> Result<NodeView, ViewRefusal>? {
        await running[node]!.sync.verifiedViews()[name]
    }

    func testViewsArePublishedOnTheLeaseVerifiedAndForgeriesRefused() async throws {
        for name in ["node1", "node2"] { _ = try makeNode(name) }
        for name in ["node1", "node2"] { try start(name) }
        let seen = NodeView(name: "node2", peers: [.init(name: "node1", tinc: "relayed", bgp: "Established", rttMs: 2, loss: 0)])
        running["node1"]!.sync.viewSource.set { NodeView(name: "node1", peers: [.init(name: "node2", tinc: "direct")]) }
        running["node2"]!.sync.viewSource.set { seen }
        try await eventuallyAsync("node1 holds node2's view, verified") {
            if case .success(let v)? = await view("node2", of: "node1") { return v == seen }
            return false
        }
        try await eventuallyAsync("node2 holds node1's view, verified") {
            if case .success? = await view("node1", of: "node2") { return true }
            return false
        }
        let client = try etcd()
        defer { client.shutdown() }
        let stored = try await client.get(prefix + "views/node2")
        XCTAssertNotEqual(stored?.lease ?? 0, 0, "the view is not on the node's lease")

        // Overwritten behind its back, node2 puts its view back on its lease.
        _ = try await client.put(prefix + "views/node2", value: Array("{\"view\": 1}".utf8))
        try await eventuallyAsync("node2 put its view back") { (try? await client.get(prefix + "views/node2"))??.lease ?? 0 != 0 }

        // Stopping node2 revokes its lease: its view goes with it.
        await stop("node2")
        try await eventuallyAsync("node2's view is gone with its lease") { await view("node2", of: "node1") == nil }

        // Someone with write access to etcd but without node2's key.
        let forged = try SignedView.sign(NodeView(name: "node2", peers: [.init(name: "node1", tinc: "down")]),
                                         with: RegistryTestRecords.privateKey("node3")).encoded()
        _ = try await client.put(prefix + "views/node2", value: forged)
        try await eventuallyAsync("the forged view is refused") {
            if case .failure(let refusal)? = await view("node2", of: "node1") { return refusal.reason.contains("does not verify") }
            return false
        }
        _ = try await client.put(prefix + "views/node2", value: Array("{\"view\": 1}".utf8))
        try await eventuallyAsync("garbage is refused with a reason") {
            if case .failure(let refusal)? = await view("node2", of: "node1") { return refusal.reason.hasPrefix("not a signed view") }
            return false
        }
        _ = try await client.put(prefix + "views/bad.name", value: forged)
        _ = try await client.put(prefix + "views/zz", value: Array("{}".utf8))
        try await eventuallyAsync("the next value is seen") { await view("zz", of: "node1") != nil }
        let names = await running["node1"]!.sync.verifiedViews().keys.sorted()
        XCTAssertEqual(names, ["node1", "node2", "zz"], "a key that is no tinc name was kept")
    }
}
