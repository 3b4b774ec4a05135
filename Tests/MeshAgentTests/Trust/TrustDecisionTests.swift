@testable import MeshAgent
import TincControl
import XCTest

/// The trust decision as a table: each row one record, signature, pin and enrollment, and the outcome.
final class TrustDecisionTests: XCTestCase {
    private let now: Int64 = 1_750_000_000

    func testTable() throws {
        let alphaKey = try TrustTestKeys.publicKey("alpha")
        let bravoKey = try TrustTestKeys.publicKey("bravo")
        let alphaPrivate = try TrustTestKeys.privateKey("alpha")
        let bravoPrivate = try TrustTestKeys.privateKey("bravo")
        let admin = try TrustTestKeys.privateKey("admin")
        let alpha = alphaKey.fingerprintSHA256
        let bravo = bravoKey.fingerprintSHA256

        let record = try TrustTestKeys.record("alpha")
        let signature = try alphaPrivate.signature(for: CanonicalRecord.bytes(of: record))
        // The impostor of issue 13: a record for alpha carrying bravo's key, correctly signed by bravo.
        let impostor = try TrustTestKeys.record("alpha", key: "bravo")
        let impostorSignature = try bravoPrivate.signature(for: CanonicalRecord.bytes(of: impostor))
        var edited = record
        edited.overlay.subnets.append("0.0.0.0/0")
        var flipped = signature
        flipped[17] ^= 0x40

        func enroll(_ name: String, _ fingerprint: String, expiresAt: Int64? = nil, by key: TincRSAPrivateKey? = nil) throws -> EnrollmentStatement {
            try EnrollmentStatement.sign(name: name, fingerprintSHA256: fingerprint, expiresAt: expiresAt, with: key ?? admin)
        }
        let pinnedAlpha = Pin(fingerprintSHA256: alpha, pinnedAt: now - 100, source: .firstUse)
        let pinnedBravo = Pin(fingerprintSHA256: bravo, pinnedAt: now - 100, source: .operator)

        struct Row {
            var what: String
            var record: NodeRecord
            var key: TincRSAPublicKey
            var signature: [UInt8]
            var pin: Pin?
            var admin: TincRSAPublicKey?
            var enrollment: EnrollmentStatement?
            var expected: TrustDecision.Outcome
        }
        let firstUse = Pin(fingerprintSHA256: alpha, pinnedAt: now, source: .firstUse)
        let enrolled = Pin(fingerprintSHA256: alpha, pinnedAt: now, source: .enrollment)
        let rows: [Row] = [
            Row(what: "TOFU: a new name is pinned", record: record, key: alphaKey, signature: signature, expected: .accept(newPin: firstUse)),
            Row(what: "pinned to this key", record: record, key: alphaKey, signature: signature, pin: pinnedAlpha, expected: .accept(newPin: nil)),
            Row(what: "pinned to another key", record: record, key: alphaKey, signature: signature, pin: pinnedBravo,
                expected: .reject(.keyNotPinned(pinned: bravo, offered: alpha))),
            Row(what: "impostor, validly signed by its own key", record: impostor, key: bravoKey, signature: impostorSignature, pin: pinnedAlpha,
                expected: .reject(.keyNotPinned(pinned: alpha, offered: bravo))),
            Row(what: "impostor with alpha's signature", record: impostor, key: bravoKey, signature: signature, pin: pinnedAlpha,
                expected: .reject(.badSignature)),
            Row(what: "edited after signing", record: edited, key: alphaKey, signature: signature, pin: pinnedAlpha, expected: .reject(.badSignature)),
            Row(what: "flipped signature bit", record: record, key: alphaKey, signature: flipped, expected: .reject(.badSignature)),
            Row(what: "truncated signature", record: record, key: alphaKey, signature: Array(signature.dropLast()), expected: .reject(.badSignature)),
            Row(what: "no signature", record: record, key: alphaKey, signature: [], expected: .reject(.badSignature)),
            Row(what: "key that is not the record's", record: record, key: bravoKey, signature: signature, expected: .reject(.keyMismatch)),
            Row(what: "admin: enrolled, new name", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                enrollment: try enroll("alpha", alpha), expected: .accept(newPin: enrolled)),
            Row(what: "admin: enrolled until later", record: record, key: alphaKey, signature: signature, pin: pinnedAlpha, admin: admin.publicKey,
                enrollment: try enroll("alpha", alpha, expiresAt: now + 1), expected: .accept(newPin: nil)),
            Row(what: "admin: no statement", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                expected: .reject(.notEnrolled)),
            Row(what: "admin: statement by another key", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                enrollment: try enroll("alpha", alpha, by: bravoPrivate), expected: .reject(.enrollmentBadSignature)),
            Row(what: "admin: statement for another name", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                enrollment: try enroll("bravo", alpha), expected: .reject(.enrollmentMismatch)),
            Row(what: "admin: statement for another key", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                enrollment: try enroll("alpha", bravo), expected: .reject(.enrollmentMismatch)),
            Row(what: "admin: expired now", record: record, key: alphaKey, signature: signature, admin: admin.publicKey,
                enrollment: try enroll("alpha", alpha, expiresAt: now), expected: .reject(.enrollmentExpired(expiresAt: now))),
            Row(what: "admin: the impostor enrolled by the admin still meets the pin", record: impostor, key: bravoKey, signature: impostorSignature,
                pin: pinnedAlpha, admin: admin.publicKey, enrollment: try enroll("alpha", bravo),
                expected: .reject(.keyNotPinned(pinned: alpha, offered: bravo))),
            Row(what: "admin: bad record signature beats a good statement", record: edited, key: alphaKey, signature: signature,
                admin: admin.publicKey, enrollment: try enroll("alpha", alpha), expected: .reject(.badSignature)),
            Row(what: "no admin key: a statement is ignored", record: record, key: alphaKey, signature: signature,
                enrollment: try enroll("alpha", bravo), expected: .accept(newPin: firstUse)),
        ]
        for row in rows {
            let outcome = TrustDecision.decide(record: row.record, key: row.key, signature: row.signature, pin: row.pin,
                                               adminKey: row.admin, enrollment: row.enrollment, now: now)
            XCTAssertEqual(outcome, row.expected, row.what)
        }
    }

    func testReasonsAreMetricLabels() {
        let rejections: [TrustDecision.Rejection] = [
            .keyMismatch, .badSignature, .keyNotPinned(pinned: "a", offered: "b"), .notEnrolled,
            .enrollmentBadSignature, .enrollmentMismatch, .enrollmentExpired(expiresAt: 1), .rotationInvalid(.notToRecordKey),
        ]
        let reasons = rejections.map(\.reason)
        XCTAssertEqual(Set(reasons).count, rejections.count)
        for reason in reasons {
            XCTAssertTrue(reason.utf8.allSatisfy { (0x61...0x7A).contains($0) || $0 == 0x5F }, reason)
        }
        XCTAssertEqual(TrustDecision.Rejection.keyNotPinned(pinned: "a", offered: "b").description,
                       "key_not_pinned (pinned SHA256:a, offered SHA256:b)")
    }

    func testSignedRecordAndPinStoreForm() throws {
        let signed = try SignedRecord.sign(try TrustTestKeys.record("alpha"), with: try TrustTestKeys.privateKey("alpha"))
        let key = try TrustTestKeys.publicKey("alpha")
        var pins = PinStore(directory: "/nonexistent")
        let outcome = TrustDecision.decide(signed, key: key, pins: pins, adminKey: nil, enrollment: nil, now: now)
        guard case .accept(let pin?) = outcome else { return XCTFail("\(outcome)") }
        try pins.pin("alpha", pin)
        XCTAssertEqual(TrustDecision.decide(signed, key: key, pins: pins, adminKey: nil, enrollment: nil, now: now + 5), .accept(newPin: nil))
    }
}
