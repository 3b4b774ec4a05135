import EtcdClient
@testable import MeshAgent
import TincControl
import XCTest

/// Rotation chains with the fixture keys (`tincd -K`, Fixtures/registry/keys): node1's name
/// rotating through the keys of node1, node2, node3 (k1 -> k2 -> k3), judged by
/// `TrustDecision` and by a `RegistryView`.
final class RotationStatementTests: XCTestCase {
    private typealias R = RegistryTestRecords
    private let now: Int64 = 1_750_000_000

    private func fingerprint(_ node: String) throws -> String { try R.key(node).fingerprintSHA256 }

    /// node1's statement that key `from` becomes key `to`, signed by `signer` (default: `from`).
    private func statement(_ from: String, _ to: String, signer: String? = nil, name: String = "node1",
                           at time: Int64 = 1_750_000_000) throws -> RotationStatement {
        var made = try RotationStatement.sign(name: name, from: R.privateKey(from), toFingerprintSHA256: fingerprint(to), issuedAt: time)
        if let signer { made.signature = try R.privateKey(signer).signature(for: made.signedBytes) }
        return made
    }

    /// The decision for node1's record carrying the key of `key`, with `chain`, against `pin`.
    private func decide(key: String, chain: [RotationStatement], pin: String?, admin: TincRSAPrivateKey? = nil,
                        enrolled: String? = nil) throws -> TrustDecision.Outcome {
        let record = try R.record("node1", key: key)
        let signature = try R.privateKey(key).signature(for: CanonicalRecord.bytes(of: record))
        let enrollment = try enrolled.map { try EnrollmentStatement.sign(name: "node1", fingerprintSHA256: fingerprint($0), expiresAt: nil, with: admin!) }
        return TrustDecision.decide(record: record, key: try R.key(key), signature: signature,
                                    pin: try pin.map { Pin(fingerprintSHA256: try fingerprint($0), pinnedAt: 1, source: .firstUse) },
                                    adminKey: admin?.publicKey, enrollment: enrollment, rotations: chain, now: now)
    }

    func testAChainMovesThePinFromAnyKeyAlongIt() throws {
        let chain = [try statement("node1", "node2"), try statement("node2", "node3")]
        let moved = Pin(fingerprintSHA256: try fingerprint("node3"), pinnedAt: now, source: .rotation)
        XCTAssertEqual(try decide(key: "node3", chain: chain, pin: "node1"), .accept(newPin: moved), "a pin two rotations old")
        XCTAssertEqual(try decide(key: "node3", chain: chain, pin: "node2"), .accept(newPin: moved), "a pin one rotation old")
        XCTAssertEqual(try decide(key: "node3", chain: chain, pin: "node3"), .accept(newPin: nil), "already at the new key")
        XCTAssertEqual(try decide(key: "node3", chain: chain, pin: nil),
                       .accept(newPin: Pin(fingerprintSHA256: try fingerprint("node3"), pinnedAt: now, source: .firstUse)))
        // A pin the chain does not start from (an unrelated key): not pinned, as without a chain.
        XCTAssertEqual(try decide(key: "node3", chain: chain, pin: "node4"),
                       .reject(.keyNotPinned(pinned: try fingerprint("node4"), offered: try fingerprint("node3"))))
        XCTAssertEqual(try decide(key: "node3", chain: [], pin: "node1"),
                       .reject(.keyNotPinned(pinned: try fingerprint("node1"), offered: try fingerprint("node3"))))
    }

    func testARollbackReturnsToAKeyMetBefore() throws {
        // k1 -> k2, then tincd refused k2: k2 -> k1 signed by k2. A peer that moved to k2 moves back.
        let chain = [try statement("node1", "node2"), try statement("node2", "node1")]
        let back = Pin(fingerprintSHA256: try fingerprint("node1"), pinnedAt: now, source: .rotation)
        XCTAssertEqual(try decide(key: "node1", chain: chain, pin: "node2"), .accept(newPin: back))
        XCTAssertEqual(try decide(key: "node1", chain: chain, pin: "node1"), .accept(newPin: nil))
    }

    func testForgedAndMisSignedStatementsAreRefused() throws {
        // Signed by an unrelated key (someone with etcd write access and their own key).
        XCTAssertEqual(try decide(key: "node2", chain: [try statement("node1", "node2", signer: "node4")], pin: "node1"),
                       .reject(.rotationInvalid(.badSignature(index: 0))))
        // Signed by the NEW key instead of the old one: proves nothing about the pinned key.
        XCTAssertEqual(try decide(key: "node2", chain: [try statement("node1", "node2", signer: "node2")], pin: "node1"),
                       .reject(.rotationInvalid(.badSignature(index: 0))))
        // A field edited after signing.
        var edited = try statement("node1", "node2")
        edited.issuedAt += 1
        XCTAssertEqual(try decide(key: "node2", chain: [edited], pin: "node1"), .reject(.rotationInvalid(.badSignature(index: 0))))
        // Another node's statement.
        XCTAssertEqual(try decide(key: "node2", chain: [try statement("node1", "node2", name: "node2")], pin: "node1"),
                       .reject(.rotationInvalid(.wrongName(index: 0))))
        // A gap: k1 -> k2, then k3 -> k4.
        XCTAssertEqual(try decide(key: "node4", chain: [try statement("node1", "node2"), try statement("node3", "node4")], pin: "node1"),
                       .reject(.rotationInvalid(.broken(index: 0))))
        // A valid statement to another key than the record's.
        XCTAssertEqual(try decide(key: "node3", chain: [try statement("node1", "node2")], pin: "node1"),
                       .reject(.rotationInvalid(.notToRecordKey)))
    }

    func testAChainLongerThanTheBoundIsRefusedEvenWhenPinned() throws {
        let keys = ["node1", "node2", "node3", "node4"]
        var chain: [RotationStatement] = []
        for index in 0..<9 { chain.append(try statement(keys[index % 4], keys[(index + 1) % 4], at: now + Int64(index))) }
        // k1 -> k2 -> k3 -> k4 -> k1 ... nine statements, the last k1 -> k2.
        XCTAssertEqual(chain.count, RotationStatement.maxChain + 1)
        XCTAssertEqual(try decide(key: "node2", chain: chain, pin: "node1"), .reject(.rotationInvalid(.tooLong(9))))
        XCTAssertEqual(try decide(key: "node2", chain: chain, pin: "node2"), .reject(.rotationInvalid(.tooLong(9))))
        XCTAssertEqual(try decide(key: "node2", chain: Array(chain.suffix(8)), pin: "node3"),
                       .accept(newPin: Pin(fingerprintSHA256: try fingerprint("node2"), pinnedAt: now, source: .rotation)))
    }

    func testAnEnrollmentOfAnOlderKeyAdmitsTheKeyItsChainLeadsTo() throws {
        let admin = try TrustTestKeys.privateKey("admin")
        let chain = [try statement("node1", "node2")]
        XCTAssertEqual(try decide(key: "node2", chain: chain, pin: "node1", admin: admin, enrolled: "node1"),
                       .accept(newPin: Pin(fingerprintSHA256: try fingerprint("node2"), pinnedAt: now, source: .rotation)))
        XCTAssertEqual(try decide(key: "node2", chain: [], pin: "node1", admin: admin, enrolled: "node1"), .reject(.enrollmentMismatch))
        XCTAssertEqual(try decide(key: "node2", chain: [try statement("node1", "node2", signer: "node2")], pin: nil, admin: admin, enrolled: "node1"),
                       .reject(.enrollmentMismatch))
    }

    func testTheEnvelopeCarriesTheChainAndOldRecordsStillDecode() throws {
        let record = try R.record("node1", key: "node2")
        let chain = [try statement("node1", "node2")]
        let signed = try SignedRecord.sign(record, with: R.privateKey("node2"), rotations: chain)
        let bytes = signed.encoded()
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains("\"rotations\":[{\"from_key\":\"-----BEGIN RSA PUBLIC KEY-----"))
        XCTAssertEqual(try SignedRecord.decode(bytes), signed)
        // A record without statements has no `rotations` key: the bytes of issue 13's records.
        let plain = try SignedRecord.sign(record, with: R.privateKey("node2")).encoded()
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("rotations"))
        XCTAssertEqual(try SignedRecord.decode(plain).rotations, [])
        // A statement with a malformed target fingerprint is a malformed record.
        let bad = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: chain[0].toFingerprintSHA256, with: "XYZ")
        XCTAssertThrowsError(try SignedRecord.decode(Array(bad.utf8)))
    }

    func testAViewMovesThePinAndReportsIt() throws {
        var view = RegistryView(prefix: R.prefix, rules: R.rules)
        let first = view.reset([try R.put("node1"), try R.put("node2")], revision: 10, now: 1)
        XCTAssertTrue(first.contains(.pinned(R.name("node1"), Pin(fingerprintSHA256: try fingerprint("node1"), pinnedAt: 1, source: .firstUse))))
        // node1 rotates to node3's key with a chain k1 -> k3; node2 keeps its record.
        let record = try R.record("node1", key: "node3")
        let value = try SignedRecord.sign(record, with: R.privateKey("node3"), rotations: [try statement("node1", "node3")]).encoded()
        let put = EtcdKeyValue(key: Array((R.prefix + "nodes/node1").utf8), value: value, createRevision: 5, modRevision: 11)
        let changes = view.apply([EtcdEvent(kind: .put, kv: put)], revision: 11, now: 2)
        let moved = Pin(fingerprintSHA256: try fingerprint("node3"), pinnedAt: 2, source: .rotation)
        XCTAssertEqual(changes, [.repinned(R.name("node1"), moved, from: try fingerprint("node1")), .updated(R.name("node1"), keyChanged: true)])
        XCTAssertEqual(view.pins["node1"], moved)
        XCTAssertEqual(view.records[R.name("node1")]?.key, try R.key("node3"))
        XCTAssertTrue(view.records[R.name("node1")]?.hostFile.contains(try R.key("node3").pem) ?? false)

        // A forged statement for node2 changes nothing and names the reason.
        let forged = try SignedRecord.sign(try R.record("node2", key: "node4"), with: R.privateKey("node4"),
                                           rotations: [try statement("node2", "node4", signer: "node4", name: "node2")]).encoded()
        let forgedPut = EtcdKeyValue(key: Array((R.prefix + "nodes/node2").utf8), value: forged, createRevision: 6, modRevision: 12)
        let refused = view.apply([EtcdEvent(kind: .put, kv: forgedPut)], revision: 12, now: 3)
        XCTAssertEqual(refused, [.rejected(key: R.prefix + "nodes/node2", revision: 12, .rotationInvalid)])
        XCTAssertEqual(view.records[R.name("node2")]?.key, try R.key("node2"))
        XCTAssertEqual(view.pins["node2"]?.fingerprintSHA256, try fingerprint("node2"))
    }
}
