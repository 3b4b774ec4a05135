import EtcdClient
@testable import MeshAgent
import TincControl
import XCTest

/// The ack rule and the `key_acks` field of the record.
final class KeyAcksTests: XCTestCase {
    private typealias R = RegistryTestRecords

    func testAcksOnlyARecentRotationWhoseKeyIsInstalled() throws {
        var view = RegistryView(prefix: R.prefix, rules: R.rules)
        _ = view.reset([try R.put("node1"), try R.put("node3")], revision: 1, now: 0)
        let k4 = try R.key("node4").fingerprintSHA256
        let statement = try RotationStatement.sign(name: "node3", from: R.privateKey("node3"), toFingerprintSHA256: k4, issuedAt: 1000)
        let value = try SignedRecord.sign(try R.record("node3", key: "node4"), with: R.privateKey("node4"), rotations: [statement]).encoded()
        _ = view.apply([EtcdEvent(kind: .put, kv: EtcdKeyValue(key: Array((R.prefix + "nodes/node3").utf8), value: value,
                                                                 createRevision: 1, modRevision: 2))], revision: 2, now: 1000)
        let me = R.name("node1")
        let node3 = R.name("node3")
        func acks(installed: String?, now: Int64) -> [String: String] {
            KeyAcks.acks(records: view.records, me: me, installed: installed.map { [node3: $0] } ?? [:], now: now, lifetimeSeconds: 240)
        }
        XCTAssertEqual(acks(installed: k4, now: 1001), ["node3": k4])
        XCTAssertEqual(acks(installed: k4, now: 1239), ["node3": k4])
        XCTAssertEqual(acks(installed: k4, now: 1240), [:], "older than the lifetime")
        XCTAssertEqual(acks(installed: try R.key("node3").fingerprintSHA256, now: 1001), [:], "the old key is still installed")
        XCTAssertEqual(acks(installed: nil, now: 1001), [:], "not installed (an operator's file)")

        // The rotating node waits for the alive peers that have not acked.
        var acked = try R.record("node1")
        XCTAssertEqual(KeyAcks.missing(records: view.records, alive: [me, node3], rotating: node3, fingerprint: k4), [me])
        acked.keyAcks = ["node3": k4]
        let ackValue = try SignedRecord.sign(acked, with: R.privateKey("node1")).encoded()
        _ = view.apply([EtcdEvent(kind: .put, kv: EtcdKeyValue(key: Array((R.prefix + "nodes/node1").utf8), value: ackValue,
                                                                 createRevision: 1, modRevision: 3))], revision: 3, now: 1001)
        XCTAssertEqual(KeyAcks.missing(records: view.records, alive: [me, node3], rotating: node3, fingerprint: k4), [])
    }

    func testKeyAcksAreSignedAndAbsentWhenEmpty() throws {
        var record = try R.record("node1")
        let plain = record.encoded()
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("key_acks"), "an ack-free record keeps the bytes of earlier builds")
        XCTAssertEqual(try JSONDecoder().decode(NodeRecord.self, from: Data(plain)).keyAcks, [:])
        record.keyAcks = ["node2": String(repeating: "a", count: 64)]
        let signed = try SignedRecord.sign(record, with: R.privateKey("node1"))
        XCTAssertEqual(try SignedRecord.decode(signed.encoded()).record.keyAcks, record.keyAcks)
        // An ack edited after signing breaks the record's signature.
        var forged = try SignedRecord.decode(signed.encoded())
        forged.record.keyAcks = ["node2": String(repeating: "b", count: 64)]
        XCTAssertEqual(TrustDecision.decide(record: forged.record, key: try R.key("node1"), signature: forged.signature, pin: nil,
                                            adminKey: nil, enrollment: nil, now: 0), .reject(.badSignature))
        // A malformed ack is an invalid field.
        record.keyAcks = ["../x": String(repeating: "a", count: 64)]
        let bad = try SignedRecord.sign(record, with: R.privateKey("node1")).encoded()
        guard case .failure(.invalidField) = RegistryRecordCheck.check(name: R.name("node1"), value: bad, rules: R.rules) else {
            return XCTFail("a malformed ack passed")
        }
    }
}
