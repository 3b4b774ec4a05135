import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// Registry records against the checks, with real keys written by `tincd -K` (Fixtures/registry).
final class RegistryRecordCheckTests: XCTestCase {
    func check(_ name: String, _ value: [UInt8]) -> Result<ValidNodeRecord, RegistryRejection> {
        RegistryRecordCheck.check(name: TincNodeName(name)!, value: value, rules: RegistryTestRecords.rules)
    }

    func testValidRecordBecomesAHostFileThatTincReads() throws {
        let record = try RegistryTestRecords.record("node2")
        let valid = try check("node2", try RegistryTestRecords.signed(record)).get()
        XCTAssertTrue(valid.hostFile.hasPrefix(RegistryRecordCheck.hostFileMarker + "\n"))
        let parsed = try TincHostFile(name: "node2", text: valid.hostFile)
        XCTAssertEqual(parsed.addresses, [TincHostAddress(host: "192.0.2.12")])
        XCTAssertEqual(parsed.port, "655")
        XCTAssertEqual(parsed.subnets.map(\.description), ["203.0.113.2/32"])
        XCTAssertEqual(parsed.publicKey, try RegistryTestRecords.key("node2"))
        // The fixture host file's key block, byte for byte (tincd wrote it).
        let original = try Fixture.text("registry/hosts/node2")
        XCTAssertTrue(valid.hostFile.hasSuffix(String(original[original.range(of: "-----BEGIN")!.lowerBound...])))
    }

    func testEncodingIsStableJSONWithSortedKeys() throws {
        let record = try RegistryTestRecords.record("node2")
        let text = String(decoding: record.encoded(), as: UTF8.self)
        XCTAssertEqual(record.encoded(), try RegistryTestRecords.record("node2").encoded())
        XCTAssertTrue(text.hasPrefix(#"{"agent_version":"0.1.0","bgp":{"asn":65000,"router_id":"192.0.2.12"},"fingerprint_sha256":""#), text)
        XCTAssertTrue(text.contains(#""name":"node2","overlay":{"addresses":["198.51.100.2","2001:db8::2"],"subnets":["203.0.113.2/32"]}"#), text)
        XCTAssertTrue(text.hasSuffix(#""schema":1,"underlay":{"addresses":["192.0.2.12"],"port":655}}"#), text)
        let decoded = try JSONDecoder().decode(NodeRecord.self, from: Data(record.encoded()))
        XCTAssertEqual(decoded, record)
    }

    func testNamesOutsideTincsRuleNeverBecomePaths() {
        for key in ["/m/nodes/../x", "/m/nodes/", "/m/nodes/a/b", "/m/nodes/node 1", "/m/nodes/nöde", "/m/nodes/.hidden"] {
            XCTAssertNil(RegistryRecordCheck.name(fromKey: key, prefix: "/m/nodes/"), key)
        }
        XCTAssertEqual(RegistryRecordCheck.name(fromKey: "/m/nodes/node_1", prefix: "/m/nodes/")?.rawValue, "node_1")
        XCTAssertNil(RegistryRecordCheck.name(fromKey: "/other/nodes/node1", prefix: "/m/nodes/"))
    }

    func testEachHostileRecordIsRejectedWithItsReason() throws {
        var record = try RegistryTestRecords.record("node2")
        XCTAssertEqual(check("node3", record.encoded()).failure, .nameMismatch)
        XCTAssertEqual(check("node2", Array(repeating: UInt8(ascii: " "), count: 2_000_000)).failure, .oversized)
        XCTAssertEqual(check("node2", Array("{\"name\":".utf8)).failure, .malformed)
        XCTAssertEqual(check("node2", Array("[1,2,3]".utf8)).failure, .malformed)

        var schema = record
        schema.schema = 2
        XCTAssertEqual(check("node2", schema.encoded()).failure, .unsupportedSchema)

        var notAKey = record
        notAKey.publicKey = "-----BEGIN RSA PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END RSA PUBLIC KEY-----\n"
        XCTAssertEqual(check("node2", notAKey.encoded()).failure, .invalidKey)
        notAKey.publicKey = "ConnectTo = evil\n"
        XCTAssertEqual(check("node2", notAKey.encoded()).failure, .invalidKey)

        var otherFingerprint = record
        otherFingerprint.fingerprintSHA256 = try RegistryTestRecords.key("node3").fingerprintSHA256
        XCTAssertEqual(check("node2", otherFingerprint.encoded()).failure, .fingerprintMismatch)

        // A line break in a value would inject configuration into the host file.
        for address in ["192.0.2.1\nConnectTo = evil", "192.0.2.1 655", "", "-oProxyCommand"] {
            var injected = record
            injected.underlay.addresses = [address]
            XCTAssertEqual(check("node2", injected.encoded()).failure, .invalidField, address)
        }
        record.underlay.port = 70000
        XCTAssertEqual(check("node2", record.encoded()).failure, .invalidField)
        record = try RegistryTestRecords.record("node2")
        record.overlay.subnets = ["203.0.113.0/33"]
        XCTAssertEqual(check("node2", record.encoded()).failure, .invalidField)
        record = try RegistryTestRecords.record("node2")
        record.overlay.addresses = ["not-an-ip"]
        XCTAssertEqual(check("node2", record.encoded()).failure, .invalidField)
    }

    /// Subnets and overlay addresses are held to mesh.overlay-prefixes and registry.max-subnets,
    /// before the signature is looked at (a signed record is refused the same way).
    func testSubnetsAndOverlayAddressesStayInTheOverlay() throws {
        func signedCheck(_ edit: (inout NodeRecord) -> Void) throws -> RegistryRejection? {
            var record = try RegistryTestRecords.record("node2")
            edit(&record)
            return check("node2", try RegistryTestRecords.signed(record)).failure
        }
        XCTAssertNil(try signedCheck { _ in })
        XCTAssertNil(try signedCheck { $0.overlay.subnets = ["203.0.113.0/24", "2001:db8:ff:2::/64"] })
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = (0..<17).map { "203.0.113.\($0)/32" } }, .tooManySubnets)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = (0..<256).map { "192.0.2.\($0)/32" } }, .tooManySubnets)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["0.0.0.0/0"] }, .defaultRoute)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["::/0"] }, .defaultRoute)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["192.0.2.7/32"] }, .subnetOutsideOverlay)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["203.0.0.0/16"] }, .subnetOutsideOverlay, "wider than the overlay")
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["2001:db9::/64"] }, .subnetOutsideOverlay)
        XCTAssertEqual(try signedCheck { $0.overlay.subnets = ["ce:08:4f:5a:91:67"] }, .subnetOutsideOverlay, "a MAC subnet")
        XCTAssertEqual(try signedCheck { $0.overlay.addresses = ["192.0.2.50"] }, .addressOutsideOverlay)
        XCTAssertEqual(try signedCheck { $0.overlay.addresses = ["198.51.100.2", "2001:db9::1"] }, .addressOutsideOverlay)
        var rules = RegistryTestRecords.rules
        rules.maxSubnets = 0
        XCTAssertEqual(RegistryRecordCheck.check(name: TincNodeName("node2")!, value: try RegistryTestRecords.signed(RegistryTestRecords.record("node2")),
                                                 rules: rules).failure, .tooManySubnets)
    }

    func testTheSignatureEnvelopeIsRequired() throws {
        let record = try RegistryTestRecords.record("node2")
        XCTAssertEqual(check("node2", record.encoded()).failure, .unsigned, "a plain record (an older agent's) is not trusted")
        var text = String(decoding: try RegistryTestRecords.signed(record), as: UTF8.self)
        text = text.replacingOccurrences(of: SignedRecord.algorithm, with: "rsa-md5")
        XCTAssertEqual(check("node2", Array(text.utf8)).failure, .badSignature)
        // The envelope decodes; whether the signature verifies is TrustDecision's (RegistryViewTests).
        let valid = try check("node2", try RegistryTestRecords.signed(record, by: "node3")).get()
        XCTAssertFalse(try RegistryTestRecords.key("node2").isValidSignature(valid.signature, for: CanonicalRecord.bytes(of: record)))
    }

    func testExtraTextAroundTheKeyNeverReachesTheHostFile() throws {
        var record = try RegistryTestRecords.record("node2")
        record.publicKey = "ConnectTo = evil\n" + record.publicKey + "Subnet = 0.0.0.0/0\n"
        let valid = try check("node2", try RegistryTestRecords.signed(record, by: "node2")).get()
        XCTAssertFalse(valid.hostFile.contains("evil"))
        XCTAssertFalse(valid.hostFile.contains("0.0.0.0/0"))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
