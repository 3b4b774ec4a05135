@testable import MeshAgent
import TincControl
import XCTest

final class NodeViewTests: XCTestCase {
    func testViewFromMeshStateNamesDirectRelayedAndDown() {
        var state = MeshState(node: "alpha", peers: [
            .init(name: "bravo", alive: true, tincReachable: true, metaConnection: true, probeUp: true, probeLoss: 0.04, probeRTT: 0.0013),
            .init(name: "charlie", alive: true, tincReachable: true, metaConnection: false),
            .init(name: "delta", alive: false, tincReachable: false, metaConnection: false),
            .init(name: "echo", alive: true),
        ])
        state.sessions = [.init(name: "bgpmesh_bravo", peer: "bravo", state: "Established", established: true),
                          .init(name: "bgpmesh_bravo6", peer: "bravo", state: "Active", established: false),
                          .init(name: "bgpmesh_charlie", peer: "charlie", state: "Established", established: true)]
        let view = NodeView(state: state, name: "alpha")
        XCTAssertEqual(view.peers.map(\.name), ["bravo", "charlie", "delta", "echo"])
        XCTAssertEqual(view.peers.map(\.tinc), ["direct", "relayed", "down", nil])
        // The session that is not Established speaks for the peer.
        XCTAssertEqual(view.peers.map(\.bgp), ["Active", "Established", nil, nil])
        XCTAssertEqual(view.peers[0].rttMs, 2)
        XCTAssertEqual(view.peers[0].loss, 0)
        XCTAssertNil(view.problem(maxPeers: 10))
    }

    func testQuantisingIgnoresJitter() {
        XCTAssertEqual(NodeView.quantiseRTT(0.00004), 0.1)
        XCTAssertEqual(NodeView.quantiseRTT(0.0003), 0.5)
        XCTAssertEqual(NodeView.quantiseRTT(0.001), 1)
        XCTAssertEqual(NodeView.quantiseRTT(0.0012), NodeView.quantiseRTT(0.0019))
        XCTAssertEqual(NodeView.quantiseRTT(0.0012), 2)
        XCTAssertEqual(NodeView.quantiseRTT(0.021), 50)
        XCTAssertEqual(NodeView.quantiseRTT(0.3), 500)
        XCTAssertNil(NodeView.quantiseRTT(-1))
        XCTAssertNil(NodeView.quantiseRTT(.nan))
        XCTAssertEqual(NodeView.quantiseLoss(0.04), 0)
        XCTAssertEqual(NodeView.quantiseLoss(0.26), 0.3)
        XCTAssertEqual(NodeView.quantiseLoss(3), 1)
        // Jitter within a step leaves the published bytes as they were.
        let a = NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "direct", rttMs: NodeView.quantiseRTT(0.0031))])
        let b = NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "direct", rttMs: NodeView.quantiseRTT(0.0048))])
        XCTAssertEqual(a.encoded(), b.encoded())
    }

    func testSignedViewVerifiesWithTheTrustedKeyOnly() throws {
        let key = try TrustTestKeys.privateKey("alpha")
        let view = NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "direct", bgp: "Established", rttMs: 1, loss: 0)])
        let value = try SignedView.sign(view, with: key).encoded()
        XCTAssertEqual(try SignedView.verify(value, name: "alpha", key: TrustTestKeys.publicKey("alpha"), maxPeers: 8).get(), view)

        func refusal(_ bytes: [UInt8], name: String = "alpha", key: TincRSAPublicKey?, maxPeers: Int = 8) -> String? {
            if case .failure(let refusal) = SignedView.verify(bytes, name: name, key: key, maxPeers: maxPeers) { return refusal.reason }
            return nil
        }
        let alpha = try TrustTestKeys.publicKey("alpha")
        // Another node's key (etcd write access alone must not be enough).
        XCTAssertEqual(refusal(value, key: try TrustTestKeys.publicKey("bravo"))?.contains("does not verify"), true)
        XCTAssertEqual(refusal(value, key: nil)?.contains("no trusted record"), true)
        // Stored under another name.
        XCTAssertEqual(refusal(value, name: "bravo", key: alpha)?.contains("stored under bravo"), true)
        // A changed field breaks the signature.
        let tampered = Array(String(decoding: value, as: UTF8.self).replacingOccurrences(of: "\"direct\"", with: "\"down\"").utf8)
        XCTAssertEqual(refusal(tampered, key: alpha)?.contains("does not verify"), true)
        // Garbage, oversize, bad fields: each refused with its reason.
        XCTAssertEqual(refusal(Array("{not json".utf8), key: alpha)?.hasPrefix("not a signed view"), true)
        XCTAssertEqual(refusal([UInt8](repeating: 0x20, count: SignedView.maxBytes + 1), key: alpha)?.contains("larger than"), true)
        XCTAssertEqual(refusal(value, key: alpha, maxPeers: 0)?.contains("more than registry.max-nodes"), true)
        var bad = SignedView(view: NodeView(name: "alpha", peers: [.init(name: "bravo", tinc: "<script>")]), signature: "", signatureAlgorithm: SignedRecord.algorithm)
        XCTAssertEqual(refusal(bad.encoded(), key: alpha)?.contains("not direct, relayed or down"), true)
        bad.view.peers = [.init(name: "../etc", tinc: "down")]
        XCTAssertEqual(refusal(bad.encoded(), key: alpha)?.contains("not a tinc node name"), true)
        bad.view.peers = [.init(name: "bravo", bgp: "Est\"ablished")]
        XCTAssertEqual(refusal(bad.encoded(), key: alpha)?.contains("not a BIRD state"), true)
        // The domain line keeps a record's signature from passing as a view's.
        let record = try SignedRecord.sign(try TrustTestKeys.record("alpha"), with: key)
        let forged = SignedView(view: view, signature: Data(record.signature).base64EncodedString(), signatureAlgorithm: SignedRecord.algorithm)
        XCTAssertEqual(refusal(forged.encoded(), key: alpha)?.contains("does not verify"), true)
    }
}
