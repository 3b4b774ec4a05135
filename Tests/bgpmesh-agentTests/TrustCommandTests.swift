import Foundation
import MeshAgent
import TestSupport
import TincControl
import XCTest

/// The operator's trust commands, run as the built binary on temporary state directories:
/// `trust list|forget|pin`, `enroll` and `fingerprint`. Keys are the ones `tincd -K 2048` made
/// (TincControlTests' Fixtures/tinc-keys); fingerprints are checked against the openssl tool,
/// enrollment statements with the agent's own verifier and trust decision.
final class TrustCommandTests: XCTestCase {
    static let keys = ScrapeOnceGoldenTests.testsDir.appendingPathComponent("TincControlTests/Fixtures/tinc-keys").path
    static let signedRecord = ScrapeOnceGoldenTests.testsDir.appendingPathComponent("MeshAgentTests/Fixtures/trust/alpha.signed-record.json").path
    static let openssl = "/usr/bin/openssl"

    private var parent = ""
    private var state: String { parent + "/state" }
    private var pinFile: String { state + "/" + PinStore.fileName }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: ScrapeOnceGoldenTests.agentBinary) else {
            throw ToolFailure(description: "bgpmesh-agent was not built at \(ScrapeOnceGoldenTests.agentBinary); run `swift build --build-tests`")
        }
        parent = NSTemporaryDirectory() + "bgpmesh-trust-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: parent)
    }

    @discardableResult
    private func agent(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runToCompletion(ScrapeOnceGoldenTests.agentBinary, arguments, timeout: 60)
    }

    private func fingerprint(_ name: String) throws -> String {
        try TincRSAPublicKey(pemText: String(contentsOfFile: "\(Self.keys)/\(name)/\(name).pub", encoding: .utf8)).fingerprintSHA256
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func bytes(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    /// The admin's private key, copied with mode 0600 (git keeps the fixture at 0644).
    private func adminKey() throws -> String {
        let path = parent + "/admin.priv"
        try FileManager.default.copyItem(atPath: "\(Self.keys)/admin/rsa_key.priv", toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    private struct Listing: Decodable {
        struct Entry: Decodable, Equatable {
            var name: String
            var fingerprint_sha256: String
            var source: String
            var pinned_at: Int64
            var pinned_at_rfc3339: String
        }
        var file: String
        var pins: [Entry]
    }

    private func listing() throws -> Listing {
        let run = try agent(["trust", "list", "--json", "--state.dir", state])
        XCTAssertEqual(run.status, 0, run.stderr)
        return try JSONDecoder().decode(Listing.self, from: Data(run.stdout.utf8))
    }

    func testListPinForgetRoundTrip() throws {
        let empty = try agent(["trust", "list", "--state.dir", state])
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertEqual(empty.stdout, "no pins in \(pinFile)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: state), "list creates nothing")

        let alpha = try fingerprint("alpha")
        let bravo = try fingerprint("bravo")
        let before = Int64(Date().timeIntervalSince1970)
        // Upper case with the prefix the agent's logs show, and plain lower case: both are taken.
        let pinned = try agent(["trust", "pin", "alpha", "SHA256:" + alpha.uppercased(), "--state.dir", state])
        XCTAssertEqual(pinned.status, 0, pinned.stderr)
        XCTAssertEqual(pinned.stdout, "pinned alpha to SHA256:\(alpha) (operator); no pin before\n")
        XCTAssertEqual(try agent(["trust", "pin", "bravo", bravo, "--state.dir", state]).status, 0)
        let after = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(try mode(state), 0o700)
        XCTAssertEqual(try mode(pinFile), 0o600)
        XCTAssertEqual(try mode(state + "/" + PinStore.lockFileName), 0o600)

        let list = try listing()
        XCTAssertEqual(list.file, pinFile)
        XCTAssertEqual(list.pins.map(\.name), ["alpha", "bravo"])
        XCTAssertEqual(list.pins.map(\.fingerprint_sha256), [alpha, bravo])
        XCTAssertEqual(list.pins.map(\.source), ["operator", "operator"])
        for pin in list.pins {
            XCTAssertTrue((before...after).contains(pin.pinned_at), "\(pin)")
            XCTAssertEqual(pin.pinned_at_rfc3339, UnixTimeText.rfc3339(pin.pinned_at))
        }
        // The agent's own loader reads what the commands wrote.
        let store = try PinStore.load(directory: state)
        XCTAssertEqual(store["alpha"], Pin(fingerprintSHA256: alpha, pinnedAt: list.pins[0].pinned_at, source: .operator))

        let table = try agent(["trust", "list", "--state.dir", state])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, table.stdout)
        XCTAssertEqual(lines[0].split(separator: " ", omittingEmptySubsequences: true).first, "NODE")
        XCTAssertEqual(lines[1].split(separator: " ").map(String.init), ["alpha", alpha, "operator", list.pins[0].pinned_at_rfc3339])
        XCTAssertEqual(lines[2].split(separator: " ").map(String.init), ["bravo", bravo, "operator", list.pins[1].pinned_at_rfc3339])
        XCTAssertEqual(lines[3], "2 pin(s) in \(pinFile)")

        let forgot = try agent(["trust", "forget", "alpha", "--state.dir", state])
        XCTAssertEqual(forgot.status, 0, forgot.stderr)
        XCTAssertTrue(forgot.stdout.hasPrefix("forgot the pin of alpha (SHA256:\(alpha), operator, pinned "), forgot.stdout)
        XCTAssertTrue(forgot.stdout.hasSuffix("the next key seen for alpha will be trusted on first use\n"), forgot.stdout)
        XCTAssertEqual(try listing().pins.map(\.name), ["bravo"])

        // Re-pinning replaces the pin and says what it was.
        let repinned = try agent(["trust", "pin", "bravo", alpha, "--state.dir", state])
        XCTAssertEqual(repinned.status, 0, repinned.stderr)
        XCTAssertEqual(repinned.stdout, "pinned bravo to SHA256:\(alpha) (operator); was SHA256:\(bravo) (operator)\n")
        XCTAssertEqual(try listing().pins.map(\.fingerprint_sha256), [alpha])
    }

    /// `--config.file` gives the state directory as it gives it to `run`; `--state.dir` wins over it.
    func testStateDirectoryComesFromTheConfigFileAndTheFlagWins() throws {
        let other = parent + "/other"
        let config = parent + "/agent.yml"
        try "state:\n  dir: \(state)\nregistry:\n  admin-public-key: \(Self.keys)/admin/admin.pub\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try agent(["trust", "pin", "alpha", try fingerprint("alpha"), "--config.file", config]).status, 0)
        XCTAssertEqual(try PinStore.load(directory: state).pins.keys.sorted(), ["alpha"])
        XCTAssertEqual(try agent(["trust", "pin", "bravo", try fingerprint("bravo"), "--config.file", config, "--state.dir", other]).status, 0)
        XCTAssertEqual(try PinStore.load(directory: other).pins.keys.sorted(), ["bravo"])
        XCTAssertEqual(try PinStore.load(directory: state).pins.keys.sorted(), ["alpha"])
        // With an admin key configured, forgetting says the next key needs an enrollment.
        let forgot = try agent(["trust", "forget", "alpha", "--config.file", config])
        XCTAssertEqual(forgot.status, 0, forgot.stderr)
        XCTAssertTrue(forgot.stdout.hasSuffix("the next key for alpha needs an enrollment statement signed by the admin key\n"), forgot.stdout)

        let bad = try agent(["trust", "list", "--config.file", parent + "/missing.yml"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("missing.yml"), bad.stderr)
    }

    func testForgetOfAnUnknownNameExitsOneAndChangesNothing() throws {
        let missing = try agent(["trust", "forget", "alpha", "--state.dir", state])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "bgpmesh-agent: error: alpha has no pin in \(pinFile); nothing changed\n")
        XCTAssertEqual(missing.stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pinFile))

        XCTAssertEqual(try agent(["trust", "pin", "bravo", try fingerprint("bravo"), "--state.dir", state]).status, 0)
        let before = try XCTUnwrap(bytes(pinFile))
        let unknown = try agent(["trust", "forget", "alpha", "--state.dir", state])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(unknown.stderr, "bgpmesh-agent: error: alpha has no pin in \(pinFile); nothing changed\n")
        XCTAssertEqual(bytes(pinFile), before)
    }

    func testBadFingerprintsAndNamesAreRefused() throws {
        let alpha = try fingerprint("alpha")
        let short = String(alpha.dropLast())
        let digits = Array(alpha)
        // openssl's colon-separated form and OpenSSH's base64 form: other encodings, refused.
        let colons: String = stride(from: 0, to: 64, by: 2).map { (at: Int) -> String in String(digits[at...at + 1]) }.joined(separator: ":")
        var bad: [String] = ["", "abc", short, alpha + "0", "SHA256:" + short, "SHA256:SHA256:" + alpha, "MD5:" + alpha]
        bad += ["sha1:" + alpha, " " + alpha, alpha + "\n", short + "g", colons, "SHA256:MLasewDPR0baCBFKc1mfgGjinW4HVQ7KUObxuhe0SsQ"]
        for text in bad {
            let run = try agent(["trust", "pin", "alpha", text, "--state.dir", state])
            XCTAssertEqual(run.status, 1, "\(text.debugDescription) was accepted")
            XCTAssertTrue(run.stderr.hasPrefix("bgpmesh-agent: error: invalid fingerprint "), run.stderr)
            XCTAssertTrue(run.stderr.contains("64 hex digits"), run.stderr)
        }
        for name in ["node-2", "a/b", "..", "", "n\u{e9}ud"] {
            let run = try agent(["trust", "pin", name, alpha, "--state.dir", state])
            XCTAssertEqual(run.status, 1, "\(name.debugDescription) was accepted")
            XCTAssertTrue(run.stderr.hasPrefix("bgpmesh-agent: error: invalid node name "), run.stderr)
            let forget = try agent(["trust", "forget", name, "--state.dir", state])
            XCTAssertEqual(forget.status, 1)
            XCTAssertTrue(forget.stderr.hasPrefix("bgpmesh-agent: error: invalid node name "), forget.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: pinFile), "a refused command wrote the pin file")
    }

    func testPinFileOrDirectoryThatOthersMayAccessIsRefused() throws {
        XCTAssertEqual(try agent(["trust", "pin", "alpha", try fingerprint("alpha"), "--state.dir", state]).status, 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pinFile)
        let before = try XCTUnwrap(bytes(pinFile))
        for arguments in [["list"], ["list", "--json"], ["forget", "alpha"], ["pin", "bravo", try fingerprint("bravo")]] {
            let run = try agent(["trust"] + arguments + ["--state.dir", state])
            XCTAssertEqual(run.status, 1, "trust \(arguments) accepted a pin file of mode 644")
            XCTAssertEqual(run.stderr, "bgpmesh-agent: error: pin store: \(pinFile) has mode 644, which lets group or others "
                                       + "access it; check its content, then chmod 600 it\n")
            XCTAssertEqual(run.stdout, "")
        }
        XCTAssertEqual(bytes(pinFile), before)
        XCTAssertEqual(try mode(pinFile), 0o644, "the command must not repair the mode on its own")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pinFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: state)
        let run = try agent(["trust", "pin", "bravo", try fingerprint("bravo"), "--state.dir", state])
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderr, "bgpmesh-agent: error: state directory \(state): mode 755 lets group or others access it; chmod 700 it\n")
        XCTAssertEqual(bytes(pinFile), before)
    }

    func testCorruptPinFileIsRefusedNotTreatedAsEmpty() throws {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        _ = FileManager.default.createFile(atPath: pinFile, contents: Data("{\"pins\":{".utf8), attributes: [.posixPermissions: 0o600])
        for arguments in [["list"], ["pin", "alpha", try fingerprint("alpha")]] {
            let run = try agent(["trust"] + arguments + ["--state.dir", state])
            XCTAssertEqual(run.status, 1)
            XCTAssertTrue(run.stderr.hasPrefix("bgpmesh-agent: error: pin store \(pinFile) is corrupt ("), run.stderr)
        }
        XCTAssertEqual(bytes(pinFile), Data("{\"pins\":{".utf8))
    }

    /// Root editing the state directory of the agent's user would leave a pin file the agent cannot read.
    func testWritingAnotherUsersStateDirectoryIsRefused() throws {
        guard geteuid() == 0 else {
            throw XCTSkip("SKIPPED LOUDLY: needs root to give the state directory to another user")
        }
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        XCTAssertEqual(chown(state, 65534, 65534), 0)
        let run = try agent(["trust", "pin", "alpha", try fingerprint("alpha"), "--state.dir", state])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.hasPrefix("bgpmesh-agent: error: the state directory \(state) belongs to uid 65534"), run.stderr)
        XCTAssertTrue(run.stderr.contains("sudo -u "), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pinFile))
    }

    func testFingerprintMatchesOpenSSL() throws {
        // A tinc host file: settings around the key, as tincd reads it.
        let hostFile = parent + "/alpha"
        let pem = try String(contentsOfFile: "\(Self.keys)/alpha/alpha.pub", encoding: .utf8)
        try "Address = 192.0.2.10\nPort = 655\nSubnet = 198.51.100.10/32\n\(pem)".write(toFile: hostFile, atomically: true, encoding: .utf8)
        let expected = try runToCompletion("/bin/sh", ["-c", "\(Self.openssl) rsa -RSAPublicKey_in -in \"$1\" -pubout -outform DER | sha256sum", "sh", hostFile])
        XCTAssertEqual(expected.status, 0, expected.stderr)
        let digest = String(expected.stdout.prefix(64))
        XCTAssertTrue(Pin.isFingerprint(digest), expected.stdout)
        let run = try agent(["fingerprint", hostFile])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, digest + "\n")

        // A BEGIN PUBLIC KEY file, as `openssl rsa -pubout` writes the admin's.
        let spki = parent + "/admin.pub"
        let converted = try runToCompletion(Self.openssl, ["rsa", "-RSAPublicKey_in", "-in", "\(Self.keys)/admin/admin.pub", "-pubout", "-out", spki])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let admin = try agent(["fingerprint", spki])
        XCTAssertEqual(admin.status, 0, admin.stderr)
        XCTAssertEqual(admin.stdout, try fingerprint("admin") + "\n")

        let privateKey = try agent(["fingerprint", try adminKey()])
        XCTAssertEqual(privateKey.status, 1)
        XCTAssertTrue(privateKey.stderr.contains("holds a private key, not a public one"), privateKey.stderr)
        let missing = try agent(["fingerprint", parent + "/nope"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("No such file or directory"), missing.stderr)
    }

    func testEnrollOutputVerifiesWithTheAdminPublicKey() throws {
        let key = try adminKey()
        let admin = try TincRSAPublicKey(pemText: String(contentsOfFile: "\(Self.keys)/admin/admin.pub", encoding: .utf8))
        let alpha = try fingerprint("alpha")
        let run = try agent(["enroll", "--admin-key", key, "--node", "alpha", "--fingerprint", "SHA256:" + alpha.uppercased(),
                             "--expires-at", "2030-01-01T00:00:00Z"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.hasSuffix("}\n"), run.stdout)
        let statement = try EnrollmentStatement.decode(Array(run.stdout.utf8))
        XCTAssertEqual(statement.name, "alpha")
        XCTAssertEqual(statement.fingerprintSHA256, alpha)
        XCTAssertEqual(statement.expiresAt, 1_893_456_000)
        XCTAssertTrue(statement.isSigned(by: admin))
        XCTAssertFalse(statement.isSigned(by: try TincRSAPublicKey(pemText: String(contentsOfFile: "\(Self.keys)/bravo/bravo.pub", encoding: .utf8))))
        XCTAssertEqual(run.stderr, "enrolled alpha with key SHA256:\(alpha) until 2030-01-01T00:00:00Z, signed by the admin key SHA256:\(admin.fingerprintSHA256)\n")

        // The agent's decision accepts alpha's signed record with this statement, and pins it as enrolled.
        let signed = try SignedRecord.decode(Array(try XCTUnwrap(bytes(Self.signedRecord))))
        let recordKey = try TincRSAPublicKey(pemText: signed.record.publicKey)
        let now: Int64 = 1_800_000_000
        XCTAssertEqual(TrustDecision.decide(record: signed.record, key: recordKey, signature: signed.signature, pin: nil,
                                            adminKey: admin, enrollment: statement, now: now),
                       .accept(newPin: Pin(fingerprintSHA256: alpha, pinnedAt: now, source: .enrollment)))
        XCTAssertEqual(TrustDecision.decide(record: signed.record, key: recordKey, signature: signed.signature, pin: nil,
                                            adminKey: admin, enrollment: statement, now: 1_893_456_000),
                       .reject(.enrollmentExpired(expiresAt: 1_893_456_000)))

        // --output: written atomically, mode 0644 (public), the same statement; --expires counts from now.
        let output = parent + "/enrollment.json"
        let before = Int64(Date().timeIntervalSince1970)
        let written = try agent(["enroll", "--admin-key", key, "--node", "alpha", "--fingerprint", alpha, "--expires", "30d", "--output", output])
        let after = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertEqual(written.stdout, "")
        XCTAssertTrue(written.stderr.hasSuffix("; written to \(output)\n"), written.stderr)
        XCTAssertEqual(try mode(output), 0o644)
        let fromFile = try EnrollmentStatement.decode(Array(try XCTUnwrap(bytes(output))))
        XCTAssertTrue(fromFile.isSigned(by: admin))
        XCTAssertTrue((before + 30 * 86400...after + 30 * 86400).contains(try XCTUnwrap(fromFile.expiresAt)), "\(fromFile)")

        let forever = try agent(["enroll", "--admin-key", key, "--node", "alpha", "--fingerprint", alpha])
        XCTAssertEqual(forever.status, 0, forever.stderr)
        XCTAssertNil(try EnrollmentStatement.decode(Array(forever.stdout.utf8)).expiresAt)
    }

    func testEnrollRefusesBadInput() throws {
        let key = try adminKey()
        let alpha = try fingerprint("alpha")
        let output = parent + "/enrollment.json"
        let cases: [(arguments: [String], status: Int32, error: String)] = [
            (["--node", "al.pha", "--fingerprint", alpha], 1, "invalid node name \"al.pha\""),
            (["--node", "../alpha", "--fingerprint", alpha], 1, "invalid node name \"../alpha\""),
            (["--node", "", "--fingerprint", alpha], 1, "invalid node name \"\""),
            (["--node", "alpha", "--fingerprint", "abc"], 1, "invalid fingerprint \"abc\""),
            (["--node", "alpha", "--fingerprint", alpha, "--expires-at", "2001-01-01T00:00:00Z"], 1, "is not in the future"),
            (["--node", "alpha", "--fingerprint", alpha, "--expires-at", "2030-02-30T00:00:00Z"], 1, "want unix seconds or an RFC 3339 time"),
            (["--node", "alpha", "--fingerprint", alpha, "--expires", "soon"], 1, "want a duration of at least 1s"),
            (["--node", "alpha", "--fingerprint", alpha, "--expires", "0s"], 1, "want a duration of at least 1s"),
            (["--node", "alpha", "--fingerprint", alpha, "--expires", "1d", "--expires-at", "1893456000"], 64, "not both"),
        ]
        for (arguments, status, error) in cases {
            let run = try agent(["enroll", "--admin-key", key, "--output", output] + arguments)
            XCTAssertEqual(run.status, status, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(error), "\(arguments): \(run.stderr)")
            XCTAssertEqual(run.stdout, "")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(arguments) wrote a statement")
        }

        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: key)
        let exposed = try agent(["enroll", "--admin-key", key, "--node", "alpha", "--fingerprint", alpha])
        XCTAssertEqual(exposed.status, 1)
        XCTAssertEqual(exposed.stderr, "bgpmesh-agent: error: admin key: \(key) has mode 640: group or others may access the private key; chmod 600 it\n")
        XCTAssertEqual(exposed.stdout, "")

        let publicKey = parent + "/admin.pub"
        try FileManager.default.copyItem(atPath: "\(Self.keys)/admin/admin.pub", toPath: publicKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: publicKey)
        let notPrivate = try agent(["enroll", "--admin-key", publicKey, "--node", "alpha", "--fingerprint", alpha])
        XCTAssertEqual(notPrivate.status, 1)
        XCTAssertTrue(notPrivate.stderr.hasPrefix("bgpmesh-agent: error: admin key: invalid RSA private key"), notPrivate.stderr)
    }

    /// Many `trust pin` processes at once, each adding one name: every pin is there afterwards.
    /// Each writer loads, changes and saves the whole file, so without the lock a writer that
    /// loaded before another saved would drop that one's pin.
    func testConcurrentPinsLoseNothing() throws {
        let fingerprints = [try fingerprint("alpha"), try fingerprint("bravo")]
        let count = 24
        let failures = LockedLines()
        let state = state
        DispatchQueue.concurrentPerform(iterations: count) { index in
            do {
                let run = try runToCompletion(ScrapeOnceGoldenTests.agentBinary,
                                              ["trust", "pin", "node\(index)", fingerprints[index % 2], "--state.dir", state])
                if run.status != 0 { failures.append("node\(index): \(run.status) \(run.stderr)") }
            } catch {
                failures.append("node\(index): \(error)")
            }
        }
        XCTAssertEqual(failures.lines, [])
        let pins = try PinStore.load(directory: state).pins
        XCTAssertEqual(pins.keys.sorted(), (0..<count).map { "node\($0)" }.sorted())
        for index in 0..<count { XCTAssertEqual(pins["node\(index)"]?.fingerprintSHA256, fingerprints[index % 2]) }
    }
}
