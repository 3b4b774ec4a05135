@testable import MeshAgent
import TincControl
import XCTest

/// What `make fuzz-trust` found, kept as unit tests (the inputs are also in Fuzz/TrustRecords/regressions).
final class RegistryFuzzFindingsTests: XCTestCase {
    /// inet_pton stops at a NUL, so "2001:db8::10\0128" read as 2001:db8::10/128 and a record's
    /// overlay address could carry any text after a NUL to the status page and the probes.
    func testAnAddressWithANULIsNoAddress() throws {
        for text in ["2001:db8::10\u{0}128", "198.51.100.10\u{0}", "198.51.100.0\u{0}/24", "198.51.100.0/24\u{0}"] {
            XCTAssertNil(IPPrefix(text), text.debugDescription)
            XCTAssertNil(ProbeAddress(text), text.debugDescription)
        }
        XCTAssertNotNil(IPPrefix("2001:db8::10"))
        XCTAssertNotNil(ProbeAddress("2001:db8::10"))

        var record = try RegistryTestRecords.record("node2")
        record.overlay.addresses = ["198.51.100.2\u{0} ConnectTo = evil"]
        let result = RegistryRecordCheck.check(name: RegistryTestRecords.name("node2"), value: try RegistryTestRecords.signed(record), rules: RegistryTestRecords.rules)
        XCTAssertEqual(result.failure, .invalidField)
    }

    /// The record check took an uppercase fingerprint (it compared lowercased), and the trust
    /// decision, which compares as is, then refused the same record as `key_mismatch`, a reason
    /// meant for a caller's mistake. The check now wants the key's own lowercase hex.
    func testAnUppercaseFingerprintIsAFingerprintMismatch() throws {
        var record = try RegistryTestRecords.record("node2")
        record.fingerprintSHA256 = record.fingerprintSHA256.uppercased()
        let result = RegistryRecordCheck.check(name: RegistryTestRecords.name("node2"), value: try RegistryTestRecords.signed(record), rules: RegistryTestRecords.rules)
        XCTAssertEqual(result.failure, .fingerprintMismatch)
        let key = try RegistryTestRecords.key("node2")
        XCTAssertEqual(TrustDecision.decide(record: record, key: key, signature: [], pin: nil, adminKey: nil, enrollment: nil, now: 0),
                       .reject(.keyMismatch))
    }
}
