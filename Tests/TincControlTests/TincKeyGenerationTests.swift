import Foundation
import Glibc
import TincControl
import XCTest

/// `TincRSAPrivateKey.generate(bits:)` and the PKCS#1 PEM it writes, checked by the openssl
/// tool and read back by the agent's own parser (RealTincTests starts tincd with such a key).
final class TincKeyGenerationTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("keygen")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testGeneratedKeyIsPKCS1PEMThatOpensslChecks() throws {
        let key = try TincRSAPrivateKey.generate(bits: 1024)
        XCTAssertEqual(key.publicKey.modulusBits, 1024)
        XCTAssertEqual(key.publicKey.publicExponent, 65537)
        let pem = String(decoding: try key.pkcs1PEM(), as: UTF8.self)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\n"), pem)
        XCTAssertTrue(pem.hasSuffix("-----END RSA PRIVATE KEY-----\n"), pem)

        let path = directory + "/rsa_key.priv"
        try key.write(toFile: path)
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        let read = try TincRSAPrivateKey(contentsOfFile: path)
        XCTAssertEqual(read.publicKey, key.publicKey)

        let check = try Tool.run("/usr/bin/openssl", ["rsa", "-check", "-noout", "-in", path])
        XCTAssertEqual(check.status, 0)
        XCTAssertTrue(check.output.contains("RSA key ok"), check.output)
        // openssl's SubjectPublicKeyInfo of the private key hashes to the agent's fingerprint.
        let spki = directory + "/spki.der"
        XCTAssertEqual(try Tool.run("/usr/bin/openssl", ["pkey", "-in", path, "-pubout", "-outform", "DER", "-out", spki]).status, 0)
        let digest = try Tool.run("/usr/bin/openssl", ["dgst", "-sha256", "-r", spki])
        XCTAssertEqual(digest.output.split(separator: " ").first.map(String.init), key.publicKey.fingerprintSHA256)

        let message = Array("bgpmesh".utf8)
        XCTAssertTrue(key.publicKey.isValidSignature(try read.signature(for: message), for: message))
    }

    func testEveryKeyIsNewAndTheSizeIsChecked() throws {
        let a = try TincRSAPrivateKey.generate(bits: 1024)
        let b = try TincRSAPrivateKey.generate(bits: 1024)
        XCTAssertNotEqual(a.publicKey.fingerprintSHA256, b.publicKey.fingerprintSHA256)
        XCTAssertEqual(try TincRSAPrivateKey.generate(bits: 1536).publicKey.modulusBits, 1536)
        for bits in [0, 512, 1023, 16385] {
            XCTAssertThrowsError(try TincRSAPrivateKey.generate(bits: bits)) { error in
                guard case .generationFailed(let reason) = error as? TincKeyError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("\(bits) bits"), reason)
            }
        }
        XCTAssertThrowsError(try a.write(toFile: directory + "/missing/rsa_key.priv")) { error in
            guard case .unwritable(let path, _) = error as? TincKeyError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("missing/rsa_key.priv"))
        }
    }
}
