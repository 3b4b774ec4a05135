import EtcdClient
import Foundation
@testable import MeshAgent
import TestSupport
import TincControl
import Synchronization
import XCTest

/// Failed etcd calls by operation.
final class CallLog: Sendable {
    private let failed = Mutex<[String: Int]>([:])

    var observer: EtcdClient.Observer {
        { op, _, success in if !success { self.failed.withLock { $0[op, default: 0] += 1 } } }
    }

    func failures(_ op: String) -> Int { failed.withLock { $0[op] ?? 0 } }
}

/// The registry reads and watches only `nodes/` and `alive/`: junk elsewhere under the prefix
/// is never sent to it, and junk under `nodes/` is refused without stopping the mesh.
extension RegistrySyncTests {
    /// What etcd has sent to its gRPC clients (the JSON gateway included), from its /metrics.
    func etcdSentBytes() throws -> Double {
        // Into a file: the page is larger than a pipe holds while runTool waits for the exit.
        let path = root! + "/etcd-metrics.txt"
        _ = try runTool("/usr/bin/curl", ["-sS", "--max-time", "5", "-o", path, cluster.endpoint(0) + "/metrics"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("etcd_network_client_grpc_sent_bytes_total ") }
        return try XCTUnwrap(line.flatMap { Double($0.split(separator: " ").last ?? "") }, "no sent-bytes counter in etcd's /metrics")
    }

    func testJunkOutsideNodesAndAliveIsNeverSentToTheAgents() async throws {
        let junk = [UInt8](repeating: UInt8(ascii: "j"), count: 1_400_000)
        let client = try etcd()
        defer { client.shutdown() }
        for index in 0..<30 { try await client.put(prefix + "junk/\(index)", value: junk) }
        try await client.put(prefix + "views/x", value: junk)
        try await client.put(prefix + "nodes", value: junk)
        try await client.put(prefix + "alive", value: junk)
        for name in ["node1", "node2"] { _ = try makeNode(name) }
        let before = try etcdSentBytes()

        let calls = CallLog()
        for name in ["node1", "node2"] { try start(name, observer: calls.observer) }
        try await eventually("node1 and node2 have each other") {
            hostNames("node1") == ["node1", "node2"] && hostNames("node2") == ["node1", "node2"]
                && metrics("node1").synced && metrics("node2").synced
        }
        // More junk while they watch, then a change they must see: a whole-prefix watch
        // would have delivered the junk before it.
        for index in 30..<35 { try await client.put(prefix + "junk/\(index)", value: junk) }
        try await client.put(prefix + "alive/sentinel", value: "x")
        for name in ["node1", "node2"] {
            let sync = running[name]!.sync
            try await eventuallyAsync("\(name) sees the sentinel") { await sync.view.alive.contains(TincNodeName("sentinel")!) }
        }
        // etcd 3.4 counts watch replies in this counter; a read of the prefix (31 x 1.9 MB)
        // would not fit one reply and show as a failed range.
        let sent = try etcdSentBytes() - before
        XCTAssertEqual(calls.failures("range"), 0)
        XCTAssertEqual(calls.failures("watch"), 0)
        // Reading the junk once would be 2 x 31 x 1.9 MB (base64); the records are a few kB.
        XCTAssertLessThan(sent, 4_000_000, "etcd sent \(sent) bytes to two agents")
        XCTAssertEqual(metrics("node1").errors["watch"] ?? 0, 0)
        XCTAssertEqual(metrics("node1").rejected.values.reduce(0, +), 0, "junk outside nodes/ is not even looked at")
    }

    /// The acceptance test's junk under `nodes/` itself (a hostile writer): every value is
    /// refused as oversized, the files stay, a restart reads past it in pages, and a node
    /// added afterwards joins.
    func testLargeJunkUnderNodesIsRefusedAndANewNodeStillJoins() async throws {
        for name in ["node1", "node2", "node3"] { _ = try makeNode(name) }
        for name in ["node1", "node2"] { try start(name) }
        try await eventually("node1 and node2 have each other") {
            hostNames("node1") == ["node1", "node2"] && hostNames("node2") == ["node1", "node2"]
        }
        let client = try etcd()
        defer { client.shutdown() }
        let junk = [UInt8](repeating: UInt8(ascii: "j"), count: 1_400_000)
        for index in 0..<30 { try await client.put(prefix + "nodes/junk\(index)", value: junk) }
        try await eventually("30 oversized records refused on node1 and node2", seconds: 30) {
            metrics("node1").rejected[.oversized] == 30 && metrics("node2").rejected[.oversized] == 30
        }
        XCTAssertTrue(metrics("node1").synced)
        XCTAssertEqual(hostNames("node1"), ["node1", "node2"])

        // A fresh read: 30 x 1.9 MB in the gateway's JSON is more than one reply may hold.
        await stop("node1")
        try start("node1")
        try await eventually("node1 in sync again, the junk refused", seconds: 30) {
            metrics("node1").synced && metrics("node1").rejected[.oversized] == 30
        }
        try start("node3")
        try await eventually("node3 joins", seconds: 30) {
            ["node1", "node2", "node3"].allSatisfy { hostNames($0) == ["node1", "node2", "node3"] }
        }
        let kept = await running["node1"]!.sync.view.records.count
        XCTAssertEqual(kept, 3)
    }
}
