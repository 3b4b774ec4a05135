import Foundation
import TincControl
import XCTest

/// SHA-256 against NIST vectors and sha256sum, and the RSA public key DER walk against openssl.
final class TincCryptoTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256AgainstSha256sum() throws {
        let tool = "/usr/bin/sha256sum"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("SKIPPED LOUDLY: \(tool) missing") }
        var generator = SystemRandomNumberGenerator()
        for length in [1, 55, 56, 63, 64, 65, 119, 120, 1000, 4097] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let path = "/tmp/tinc-sha-\(getpid())-\(length)"
            try Data(data).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let output = try run(tool, [path])
            XCTAssertEqual(String(output.prefix(64)), SHA256.hex(data), "length \(length)")
        }
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
        let spkiPEM = try run(tool, ["rsa", "-RSAPublicKey_in", "-in", path, "-pubout"])
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
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }
}
