import Foundation
import TincControl
import XCTest

/// RSA PKCS#1 v1.5 + SHA-256 signatures with keys made by `tincd -K 2048`
/// (Fixtures/tinc-keys, scripts/capture-tinc-keys.sh), checked against the openssl tool.
final class TincSignatureTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("sig")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A copy of a fixture key file with `mode` (git does not keep 0600).
    private func keyFile(_ name: String, mode: Int = 0o600) throws -> String {
        let path = "\(directory)/\(name).priv"
        try Data(try Fixture.bytes("tinc-keys/\(name)/rsa_key.priv")).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    private func privateKey(_ name: String) throws -> TincRSAPrivateKey {
        try TincRSAPrivateKey(contentsOfFile: try keyFile(name))
    }

    private func publicKey(_ name: String) throws -> TincRSAPublicKey {
        try TincRSAPublicKey(pemText: try Fixture.text("tinc-keys/\(name)/\(name).pub"))
    }

    func testPrivateKeyMatchesTheHostFileKey() throws {
        for name in ["alpha", "bravo", "admin"] {
            let key = try privateKey(name)
            XCTAssertEqual(key.publicKey, try publicKey(name), name)
            XCTAssertEqual(key.publicKey.modulusBits, 2048)
            XCTAssertEqual(key.publicKey.publicExponent, 65537)
        }
        XCTAssertNotEqual(try publicKey("alpha").fingerprintSHA256, try publicKey("bravo").fingerprintSHA256)
    }

    func testRoundTripAndEveryKindOfForgeryFails() throws {
        let alpha = try privateKey("alpha")
        let message = Array(#"{"name":"alpha","schema":1}"#.utf8)
        let signature = try alpha.signature(for: message)
        XCTAssertEqual(signature.count, 256)
        XCTAssertTrue(alpha.publicKey.isValidSignature(signature, for: message))
        // PKCS#1 v1.5 is deterministic: the same key and bytes give the same signature.
        XCTAssertEqual(try alpha.signature(for: message), signature)

        for bit in [0, 7, 100, message.count * 8 - 1] {
            var flipped = message
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            XCTAssertFalse(alpha.publicKey.isValidSignature(signature, for: flipped), "message bit \(bit)")
        }
        for bit in [0, 1000, signature.count * 8 - 1] {
            var flipped = signature
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            XCTAssertFalse(alpha.publicKey.isValidSignature(flipped, for: message), "signature bit \(bit)")
        }
        XCTAssertFalse(try publicKey("bravo").isValidSignature(signature, for: message), "another key")
        XCTAssertFalse(alpha.publicKey.isValidSignature(Array(signature.dropLast()), for: message), "truncated")
        XCTAssertFalse(alpha.publicKey.isValidSignature([0] + signature.dropLast(), for: message), "shifted")
        XCTAssertFalse(alpha.publicKey.isValidSignature([], for: message), "empty")
        XCTAssertFalse(alpha.publicKey.isValidSignature(signature + [0], for: message), "extended")
        XCTAssertTrue(alpha.publicKey.isValidSignature(try alpha.signature(for: []), for: []), "empty message")
    }

    func testOpensslVerifiesOurSignatureAndWeVerifyOpenssls() throws {
        let tool = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("SKIPPED LOUDLY: \(tool) missing") }
        let keyPath = try keyFile("alpha")
        let alpha = try TincRSAPrivateKey(contentsOfFile: keyPath)
        let message = Array("the bytes a node record signs\n".utf8)
        let messagePath = "\(directory)/message"
        let signaturePath = "\(directory)/signature"
        let publicPath = "\(directory)/alpha-spki.pem"
        try Data(message).write(to: URL(fileURLWithPath: messagePath))
        try Data(try alpha.signature(for: message)).write(to: URL(fileURLWithPath: signaturePath))
        let spki = Data(alpha.publicKey.subjectPublicKeyInfoDER).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        try "-----BEGIN PUBLIC KEY-----\n\(spki)\n-----END PUBLIC KEY-----\n".write(toFile: publicPath, atomically: true, encoding: .utf8)

        let verified = try Tool.run(tool, ["dgst", "-sha256", "-verify", publicPath, "-signature", signaturePath, messagePath])
        XCTAssertEqual(verified.status, 0)
        XCTAssertEqual(verified.output.trimmingCharacters(in: .whitespacesAndNewlines), "Verified OK")

        // A flipped message byte: openssl refuses too (so the check above can fail).
        var flipped = message
        flipped[0] ^= 1
        try Data(flipped).write(to: URL(fileURLWithPath: messagePath))
        XCTAssertEqual(try Tool.run(tool, ["dgst", "-sha256", "-verify", publicPath, "-signature", signaturePath, messagePath]).status, 1)

        // openssl signs with tinc's rsa_key.priv; the bytes equal ours and verify.
        try Data(message).write(to: URL(fileURLWithPath: messagePath))
        let opensslSignaturePath = "\(directory)/openssl-signature"
        XCTAssertEqual(try Tool.run(tool, ["dgst", "-sha256", "-sign", keyPath, "-out", opensslSignaturePath, messagePath]).status, 0)
        let opensslSignature = Array(try Data(contentsOf: URL(fileURLWithPath: opensslSignaturePath)))
        XCTAssertEqual(opensslSignature, try alpha.signature(for: message))
        XCTAssertTrue(alpha.publicKey.isValidSignature(opensslSignature, for: message))
    }

    func testKeyFileChecks() throws {
        func assertRefused(_ path: String, _ check: (TincKeyError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try TincRSAPrivateKey(contentsOfFile: path), file: file, line: line) { error in
                guard let error = error as? TincKeyError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertTrue(check(error), "\(error)", file: file, line: line)
                XCTAssertFalse(error.description.isEmpty)
            }
        }
        assertRefused(try keyFile("alpha", mode: 0o644)) { if case .unreadable(.insecureMode(_, 0o644)) = $0 { true } else { false } }
        assertRefused(try keyFile("bravo", mode: 0o640)) { if case .unreadable(.insecureMode) = $0 { true } else { false } }
        assertRefused("\(directory)/missing") { if case .unreadable(.file(.system(_, "open", ENOENT))) = $0 { true } else { false } }
        assertRefused(directory) { if case .unreadable(.notRegularFile) = $0 { true } else { false } }
        let fifo = "\(directory)/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertRefused(fifo) { if case .unreadable(.notRegularFile) = $0 { true } else { false } }

        let large = "\(directory)/large"
        try Data(repeating: 0x41, count: TincRSAPrivateKey.maxFileBytes + 1).write(to: URL(fileURLWithPath: large))
        XCTAssertEqual(chmod(large, 0o600), 0)
        assertRefused(large) { if case .unreadable(.file(.tooLarge)) = $0 { true } else { false } }

        // The text holds no private key: a public key file, an encrypted key, garbage in the block.
        let pem = try Fixture.text("tinc-keys/alpha/rsa_key.priv")
        let encrypted = pem.replacingOccurrences(of: "-----BEGIN RSA PRIVATE KEY-----\n",
                                                 with: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n")
        let garbled = pem.replacingOccurrences(of: "\nM", with: "\nA")
        for text in [try Fixture.text("tinc-keys/alpha/alpha.pub"), encrypted, garbled, ""] {
            XCTAssertThrowsError(try TincRSAPrivateKey(pemText: text)) { error in
                guard case .invalidPrivateKey = error as? TincKeyError else { return XCTFail("\(error)") }
            }
        }
    }
}
