import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// Enrollment statements signed by an admin key made with `tincd -K`.
final class EnrollmentStatementTests: XCTestCase {
    func testSignEncodeDecodeVerify() throws {
        let admin = try TrustTestKeys.privateKey("admin")
        let fingerprint = try TrustTestKeys.publicKey("alpha").fingerprintSHA256
        for expiry: Int64? in [nil, 1_800_000_000] {
            let statement = try EnrollmentStatement.sign(name: "alpha", fingerprintSHA256: fingerprint, expiresAt: expiry, with: admin)
            let decoded = try EnrollmentStatement.decode(statement.encoded())
            XCTAssertEqual(decoded, statement)
            XCTAssertTrue(decoded.isSigned(by: admin.publicKey))
            XCTAssertFalse(decoded.isSigned(by: try TrustTestKeys.publicKey("bravo")), "another admin key")
        }
        let statement = try EnrollmentStatement.sign(name: "alpha", fingerprintSHA256: fingerprint, expiresAt: 1_800_000_000, with: admin)
        XCTAssertEqual(String(decoding: statement.signedBytes, as: UTF8.self),
                       "bgpmesh enrollment v1\n{\"expires_at\":1800000000,\"fingerprint_sha256\":\"\(fingerprint)\",\"name\":\"alpha\"}")
    }

    func testEveryChangedFieldBreaksTheSignature() throws {
        let admin = try TrustTestKeys.privateKey("admin")
        let statement = try EnrollmentStatement.sign(name: "alpha", fingerprintSHA256: try TrustTestKeys.publicKey("alpha").fingerprintSHA256,
                                                     expiresAt: 1_800_000_000, with: admin)
        var renamed = statement
        renamed.name = "bravo"
        var rekeyed = statement
        rekeyed.fingerprintSHA256 = try TrustTestKeys.publicKey("bravo").fingerprintSHA256
        var extended = statement
        extended.expiresAt = 1_900_000_000
        var unlimited = statement
        unlimited.expiresAt = nil
        var truncated = statement
        truncated.signature.removeLast()
        for (what, changed) in [("name", renamed), ("key", rekeyed), ("expiry", extended), ("no expiry", unlimited), ("truncated", truncated)] {
            XCTAssertFalse(changed.isSigned(by: admin.publicKey), what)
            XCTAssertFalse(try EnrollmentStatement.decode(changed.encoded()).isSigned(by: admin.publicKey), what)
        }
        // A record signature by the same key over the same name is no enrollment (domain lines differ).
        let record = try TrustTestKeys.record("alpha")
        var forged = statement
        forged.signature = try admin.signature(for: CanonicalRecord.bytes(of: record))
        XCTAssertFalse(forged.isSigned(by: admin.publicKey))
    }

    func testMalformedStatements() throws {
        let admin = try TrustTestKeys.privateKey("admin")
        XCTAssertThrowsError(try EnrollmentStatement.sign(name: "../x", fingerprintSHA256: String(repeating: "0", count: 64), expiresAt: nil, with: admin))
        XCTAssertThrowsError(try EnrollmentStatement.sign(name: "alpha", fingerprintSHA256: "SHA256:00", expiresAt: nil, with: admin))
        let fingerprint = String(repeating: "0", count: 64)
        let cases = [
            "", "{}", "[]",
            "{\"name\":\"alpha\",\"fingerprint_sha256\":\"\(fingerprint)\"}",  // no signature
            "{\"name\":\"alpha\",\"fingerprint_sha256\":\"\(fingerprint)\",\"signature\":\"%%%\"}",
            "{\"name\":\"a b\",\"fingerprint_sha256\":\"\(fingerprint)\",\"signature\":\"AAAA\"}",
            "{\"name\":\"alpha\",\"fingerprint_sha256\":\"\(fingerprint)0\",\"signature\":\"AAAA\"}",
            "{\"name\":\"alpha\",\"fingerprint_sha256\":\"\(fingerprint)\",\"expires_at\":\"soon\",\"signature\":\"AAAA\"}",
            String(repeating: " ", count: EnrollmentStatement.maxBytes + 1),
        ]
        for text in cases {
            XCTAssertThrowsError(try EnrollmentStatement.decode(Array(text.utf8)), String(text.prefix(80))) { error in
                guard case .malformed = error as? EnrollmentError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertNoThrow(try EnrollmentStatement.decode(Array("{\"name\":\"alpha\",\"fingerprint_sha256\":\"\(fingerprint)\",\"signature\":\"AAAA\"}".utf8)))
    }
}
