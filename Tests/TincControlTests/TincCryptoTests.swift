import Foundation
import TincControl
import XCTest

/// SHA-256 against NIST vectors, and libcrypto's RSA public key parsing against the openssl tool.
final class TincCryptoTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(TincHash.sha256Hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(TincHash.sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(TincHash.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(TincHash.sha256Hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSubjectPublicKeyInfoFormAndOpenssl() throws {
        let pem = try Fixture.text("node1-tinc/hosts/node3")
        let key = try TincRSAPublicKey(pemText: pem)
        let tool = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("SKIPPED LOUDLY: \(tool) missing") }
        let path = "/tmp/tinc-key-\(getpid()).pem"
        try key.pem.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // openssl's SubjectPublicKeyInfo must equal ours byte for byte, and parse as the same key.
        let converted = try Tool.run(tool, ["rsa", "-RSAPublicKey_in", "-in", path, "-pubout"])
        XCTAssertEqual(converted.status, 0)
        let spkiPEM = converted.output
        XCTAssertTrue(spkiPEM.contains("-----BEGIN PUBLIC KEY-----"))
        let fromSPKI = try TincRSAPublicKey(pemText: spkiPEM)
        XCTAssertEqual(fromSPKI, key)
        XCTAssertEqual(fromSPKI.fingerprintSHA256, key.fingerprintSHA256)
        let body = spkiPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        XCTAssertEqual(Data(base64Encoded: body).map(Array.init), key.subjectPublicKeyInfoDER)
    }

    func testKeyRejections() throws {
        let good = try Fixture.text("node1-tinc/hosts/node1")
        let cases = [
            "-----BEGIN RSA PRIVATE KEY-----\nMAMCAQE=\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN RSA PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\nMAMCAQE=\n-----END RSA PUBLIC KEY-----",
            "-----BEGIN RSA PUBLIC KEY-----\nMAYCAQECAQM=\n-----END RSA PUBLIC KEY-----",  // tiny modulus
            "-----BEGIN RSA PUBLIC KEY-----\nMAYCAf8CAQM=\n-----END RSA PUBLIC KEY-----",  // negative modulus
            "-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----",
            "-----BEGIN RSA PUBLIC KEY-----\nMIQAAAAA\n-----END RSA PUBLIC KEY-----",  // length beyond data
        ]
        for text in cases {
            XCTAssertThrowsError(try TincRSAPublicKey(pemText: text), text)
        }
        // A flipped byte in the middle of the DER breaks the walk or changes the fingerprint.
        var der = try TincRSAPublicKey(pemText: good).pkcs1DER
        der[1] ^= 0x01
        XCTAssertThrowsError(try TincRSAPublicKey(pkcs1DER: der))
        // Not canonical DER: a trailing byte, and the same SEQUENCE with a longer length form.
        let canonical = try TincRSAPublicKey(pemText: good).pkcs1DER
        XCTAssertThrowsError(try TincRSAPublicKey(pkcs1DER: canonical + [0]))
        XCTAssertEqual(Array(canonical.prefix(2)), [0x30, 0x82])
        XCTAssertThrowsError(try TincRSAPublicKey(pkcs1DER: [0x30, 0x83, 0x00] + canonical.dropFirst(2)))
        let spki = try TincRSAPublicKey(pemText: good).subjectPublicKeyInfoDER
        XCTAssertNoThrow(try TincRSAPublicKey(subjectPublicKeyInfoDER: spki))
        XCTAssertThrowsError(try TincRSAPublicKey(subjectPublicKeyInfoDER: spki + [0]))
    }
}
