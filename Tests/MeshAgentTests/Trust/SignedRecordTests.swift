import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// The canonical bytes of a record, and the signed envelope as it travels through etcd.
final class SignedRecordTests: XCTestCase {
    func testCanonicalBytesAreTheDomainLineAndTheSortedRecord() throws {
        let record = try TrustTestKeys.record("alpha")
        let bytes = CanonicalRecord.bytes(of: record)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("bgpmesh node record v1\n{\"agent_version\":\"0.1.0-test\",\"bgp\":{\"asn\":64512,\"router_id\":\"198.51.100.10\"},\"fingerprint_sha256\":\""), text)
        XCTAssertTrue(text.hasSuffix("\"schema\":1,\"underlay\":{\"addresses\":[\"192.0.2.10\"],\"port\":655}}"), text)
        XCTAssertFalse(text.contains("signature"))
        XCTAssertEqual(CanonicalRecord.bytes(of: record), bytes, "the same record gives the same bytes")
    }

    func testSignEncodeDecodeVerify() throws {
        let record = try TrustTestKeys.record("alpha")
        let signed = try SignedRecord.sign(record, with: try TrustTestKeys.privateKey("alpha"))
        let value = signed.encoded()
        let decoded = try SignedRecord.decode(value)
        XCTAssertEqual(decoded, signed)
        XCTAssertTrue(try TrustTestKeys.publicKey("alpha").isValidSignature(decoded.signature, for: CanonicalRecord.bytes(of: decoded.record)))
        // An agent of the previous build reads the same value as a plain record.
        XCTAssertEqual(try JSONDecoder().decode(NodeRecord.self, from: Data(value)), record)
        let text = String(decoding: value, as: UTF8.self)
        XCTAssertTrue(text.contains("\"signature_algorithm\":\"rsa-pkcs1v15-sha256\""), text)
    }

    func testReformattedJSONStillVerifiesAndAChangedFieldDoesNot() throws {
        let alpha = try TrustTestKeys.publicKey("alpha")
        let signed = try SignedRecord.sign(try TrustTestKeys.record("alpha"), with: try TrustTestKeys.privateKey("alpha"))
        // Spaced, with keys in another order: the same values, the same canonical bytes.
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(signed.encoded())) as? [String: Any])
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted])
        let reparsed = try SignedRecord.decode(Array(pretty))
        XCTAssertTrue(alpha.isValidSignature(reparsed.signature, for: CanonicalRecord.bytes(of: reparsed.record)))

        // Any changed value: a subnet added, another port, another name.
        var edits: [(String, (inout [String: Any]) -> Void)] = []
        edits.append(("subnet", { record in
            var overlay = record["overlay"] as! [String: Any]
            overlay["subnets"] = ["198.51.100.10/32", "0.0.0.0/0"]
            record["overlay"] = overlay
        }))
        edits.append(("port", { record in
            var underlay = record["underlay"] as! [String: Any]
            underlay["port"] = 656
            record["underlay"] = underlay
        }))
        edits.append(("name", { $0["name"] = "bravo" }))
        edits.append(("version", { $0["agent_version"] = "0.1.1" }))
        for (what, edit) in edits {
            var changed = object
            edit(&changed)
            let tampered = try SignedRecord.decode(Array(try JSONSerialization.data(withJSONObject: changed)))
            XCTAssertFalse(alpha.isValidSignature(tampered.signature, for: CanonicalRecord.bytes(of: tampered.record)), what)
        }
    }

    func testUndecodableValues() throws {
        let signed = try SignedRecord.sign(try TrustTestKeys.record("alpha"), with: try TrustTestKeys.privateKey("alpha"))
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(signed.encoded())) as? [String: Any])
        func decode(_ object: [String: Any]) throws -> SignedRecord {
            try SignedRecord.decode(Array(try JSONSerialization.data(withJSONObject: object)))
        }
        func assertError(_ expected: SignedRecordError, _ body: () throws -> SignedRecord, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? SignedRecordError, expected, line: line) }
        }
        object["signature_algorithm"] = "rsa-pss-sha256"
        assertError(.unsupportedAlgorithm("rsa-pss-sha256")) { try decode(object) }
        object["signature_algorithm"] = nil
        assertError(.unsupportedAlgorithm("")) { try decode(object) }
        object["signature_algorithm"] = SignedRecord.algorithm
        object["signature"] = "not base64!"
        assertError(.badBase64) { try decode(object) }
        object["signature"] = nil
        assertError(.unsigned) { try decode(object) }
        assertError(.unsigned) { try SignedRecord.decode(try TrustTestKeys.record("alpha").encoded()) }
        assertError(.tooLarge(SignedRecord.maxBytes + 1)) { try SignedRecord.decode([UInt8](repeating: 0x20, count: SignedRecord.maxBytes + 1)) }
        for junk in ["", "{", "[]", "null", "{\"signature\":\"AAAA\"}"] {
            XCTAssertThrowsError(try SignedRecord.decode(Array(junk.utf8)), junk) { error in
                guard case .malformed = error as? SignedRecordError else { return XCTFail("\(junk): \(error)") }
            }
        }
    }
}

/// Signed values as this build writes them, checked in: a later build that changed the canonical
/// bytes would no longer verify what running agents signed. `BGPMESH_REGENERATE_TRUST_FIXTURES=1`
/// rewrites them (then review the diff); they also seed `make fuzz-trust`.
final class SignedValueGoldenTests: XCTestCase {
    private var regenerate: Bool { ProcessInfo.processInfo.environment["BGPMESH_REGENERATE_TRUST_FIXTURES"] == "1" }

    private func golden(_ name: String, _ make: () throws -> [UInt8]) throws -> [UInt8] {
        let url = Fixture.directory.appendingPathComponent("trust/\(name)")
        if regenerate {
            // The bundle holds a copy; write the source tree's file.
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/trust/\(name)")
            try Data(try make()).write(to: source)
            return try make()
        }
        return Array(try Data(contentsOf: url))
    }

    func testCheckedInSignedRecordVerifies() throws {
        let value = try golden("alpha.signed-record.json") {
            try SignedRecord.sign(try TrustTestKeys.record("alpha"), with: try TrustTestKeys.privateKey("alpha")).encoded()
        }
        let signed = try SignedRecord.decode(value)
        XCTAssertEqual(signed.record, try TrustTestKeys.record("alpha"))
        XCTAssertEqual(signed.encoded(), value, "this build encodes the checked-in value byte for byte")
        let key = try TrustTestKeys.publicKey("alpha")
        XCTAssertEqual(TrustDecision.decide(signed, key: key, pins: PinStore(directory: "/nonexistent"), adminKey: nil, enrollment: nil, now: 1),
                       .accept(newPin: Pin(fingerprintSHA256: key.fingerprintSHA256, pinnedAt: 1, source: .firstUse)))
    }

    func testCheckedInEnrollmentVerifies() throws {
        let value = try golden("alpha.enrollment.json") {
            try EnrollmentStatement.sign(name: "alpha", fingerprintSHA256: try TrustTestKeys.publicKey("alpha").fingerprintSHA256,
                                         expiresAt: 1_893_456_000, with: try TrustTestKeys.privateKey("admin")).encoded()
        }
        let statement = try EnrollmentStatement.decode(value)
        XCTAssertEqual(statement.encoded(), value)
        XCTAssertTrue(statement.isSigned(by: try TrustTestKeys.publicKey("admin")))
        XCTAssertEqual(statement.expiresAt, 1_893_456_000)
    }

    /// alpha rotated to bravo's key: the record signed by the new key, the statement alpha -> bravo
    /// by the old one, and an ack of another node's key in the record.
    func testCheckedInRotatedRecordMovesThePin() throws {
        let alpha = try TrustTestKeys.publicKey("alpha")
        let bravo = try TrustTestKeys.publicKey("bravo")
        let value = try golden("alpha-rotated.signed-record.json") {
            var record = try TrustTestKeys.record("alpha", key: "bravo")
            record.keyAcks = ["charlie": alpha.fingerprintSHA256]
            let statement = try RotationStatement.sign(name: "alpha", from: try TrustTestKeys.privateKey("alpha"),
                                                       toFingerprintSHA256: bravo.fingerprintSHA256, issuedAt: 1_750_000_000)
            return try SignedRecord.sign(record, with: try TrustTestKeys.privateKey("bravo"), rotations: [statement]).encoded()
        }
        let signed = try SignedRecord.decode(value)
        XCTAssertEqual(signed.encoded(), value, "this build encodes the checked-in value byte for byte")
        XCTAssertEqual(signed.rotations.count, 1)
        XCTAssertEqual(signed.record.keyAcks, ["charlie": alpha.fingerprintSHA256])
        var pins = PinStore(directory: "/nonexistent")
        try pins.pin("alpha", Pin(fingerprintSHA256: alpha.fingerprintSHA256, pinnedAt: 0, source: .firstUse))
        XCTAssertEqual(TrustDecision.decide(signed, key: bravo, pins: pins, adminKey: nil, enrollment: nil, now: 2),
                       .accept(newPin: Pin(fingerprintSHA256: bravo.fingerprintSHA256, pinnedAt: 2, source: .rotation)))
    }
}
