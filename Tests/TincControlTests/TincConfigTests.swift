import Foundation
import Glibc
import TestSupport
import TincControl
import XCTest

/// tinc.conf, conf.d and hosts/ readers on node1's files from the lab, plus garbage.
final class TincConfigTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("config") + "/bgpmesh"
        try Fixture.copyTree("node1-tinc", to: directory)
        try FileManager.default.createDirectory(atPath: directory + "/conf.d", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    func testServerConfigWithConfD() throws {
        try "# managed\nConnectTo = node9\nconnectto=node8\n".write(toFile: directory + "/conf.d/bgpmesh.conf", atomically: true, encoding: .utf8)
        try "ConnectTo = ignored\n".write(toFile: directory + "/conf.d/notes.txt", atomically: true, encoding: .utf8)
        try "ConnectTo = node7\n".write(toFile: directory + "/conf.d/a.conf", atomically: true, encoding: .utf8)
        try "ConnectTo = hidden\n".write(toFile: directory + "/conf.d/.conf", atomically: true, encoding: .utf8)
        let config = try TincConfigDirectory(path: directory).serverConfig()
        XCTAssertEqual(config.name, "node1")
        XCTAssertEqual(config.mode, "switch")
        XCTAssertEqual(config.connectTo, ["node2", "node3", "node7", "node9", "node8"])
        XCTAssertEqual(config.values("PingInterval"), ["10"])
        XCTAssertEqual(config.values("interface"), ["tinc0"])
    }

    func testMissingTincConfIsAnError() throws {
        try FileManager.default.removeItem(atPath: directory + "/tinc.conf")
        XCTAssertThrowsError(try TincConfigDirectory(path: directory).serverConfig()) { error in
            guard case .file(.system(_, "open", ENOENT))? = error as? TincDirectoryError else { return XCTFail("\(error)") }
        }
    }

    func testConfigSyntaxAsTincReadsIt() throws {
        let text = "Name=node1\r\nMode   switch  \n# comment\n\nConnectTo = a\n-----BEGIN RSA PUBLIC KEY-----\nConnectTo = inside\n-----END RSA PUBLIC KEY-----\nPort\t= 655\n"
        let entries = try TincConfigParser.parse(text, file: "tinc.conf")
        XCTAssertEqual(entries.map(\.variable), ["Name", "Mode", "ConnectTo", "Port"])
        XCTAssertEqual(entries.map(\.value), ["node1", "switch", "a", "655"])
        XCTAssertEqual(entries.last?.line, 9)
        // A leading blank gives tincd an empty variable name (parse_config_line's strcspn).
        XCTAssertEqual(try TincConfigParser.parse("\tMode switch\n", file: "t").map(\.variable), [""])
        XCTAssertThrowsError(try TincConfigParser.parse("Name = a\nConnectTo\n", file: "tinc.conf")) { error in
            XCTAssertEqual(error as? TincParseError, .malformedConfig(file: "tinc.conf", line: 2, reason: "No value for variable `ConnectTo'"))
        }
    }

    /// A FIFO in hosts/ (an operator's mistake, or an attack on the agent) is refused as one bad
    /// host file; it must not block the reader, which would hang the registry and the collector.
    func testFIFOInHostsIsRefusedWithoutBlocking() throws {
        let fifo = directory + "/hosts/node4"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let dir = TincConfigDirectory(path: directory)
        let outcome = completes(within: .seconds(30)) { () -> [String: String] in
            var out: [String: String] = [:]
            for (name, result) in (try? dir.hostFiles()) ?? [] {
                switch result {
                case .success: out[name.rawValue] = "ok"
                case .failure(let error): out[name.rawValue] = error.description
                }
            }
            return out
        }
        guard let outcome else {
            // Releases a reader blocked in open(2); with none, ENXIO instead of blocking here.
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            return XCTFail("reading hosts/ with a FIFO in it did not return within 30 s")
        }
        XCTAssertEqual(outcome, ["node1": "ok", "node2": "ok", "node3": "ok", "node4": "\(fifo) is a FIFO, not a regular file"])
        XCTAssertThrowsError(try dir.hostFile(TincNodeName("node4")!)) { error in
            XCTAssertEqual(error as? TincDirectoryError, .file(.notRegularFile(path: fifo, type: "a FIFO")))
        }
    }

    func testHostFilesAndFingerprints() throws {
        let dir = TincConfigDirectory(path: directory)
        XCTAssertEqual(try dir.hostNames().map(\.rawValue), ["node1", "node2", "node3"])
        // Fingerprints computed by capture-tinc.sh with openssl + sha256sum.
        var expected: [String: String] = [:]
        for line in try Fixture.text("node1-tinc/fingerprints.openssl.txt").split(separator: "\n") {
            let parts = line.split(separator: " ")
            expected[String(parts[0])] = String(parts[1])
        }
        XCTAssertEqual(expected.count, 3)
        for (name, result) in try dir.hostFiles() {
            let host = try result.get()
            XCTAssertEqual(host.addresses.first?.host, "192.0.2.\(name.rawValue.dropFirst(4))")
            XCTAssertEqual(host.port, "655")
            let key = try XCTUnwrap(host.publicKey, host.publicKeyProblem ?? "")
            XCTAssertEqual(key.modulusBits, 2048)
            XCTAssertEqual(key.publicExponent, 65537)
            XCTAssertEqual(key.fingerprintSHA256, expected[name.rawValue])
        }
    }

    func testGarbageHostFiles() throws {
        let cases: [(String, String)] = [
            ("nokey", "Address = 192.0.2.9\n"),
            ("badbase64", "Address = 192.0.2.9\n-----BEGIN RSA PUBLIC KEY-----\n!!!not base64!!!\n-----END RSA PUBLIC KEY-----\n"),
            ("noend", "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n"),
            ("notrsa", "-----BEGIN RSA PUBLIC KEY-----\nMAMCAQE=\n-----END RSA PUBLIC KEY-----\n"),
            ("binary", "\u{00}\u{01}\u{02}garbage = yes\n\u{FF} = \u{FE}"),
            ("ecdsa", "Ed25519PublicKey = abcdef\n"),
        ]
        for (name, text) in cases {
            try text.write(toFile: directory + "/hosts/" + name, atomically: true, encoding: .utf8)
        }
        try Data([0xFF, 0xFE, 0x00, 0x0A, 0x3D, 0x0A]).write(to: URL(fileURLWithPath: directory + "/hosts/rawbytes"))
        try "Subnet\n".write(toFile: directory + "/hosts/novalue", atomically: true, encoding: .utf8)
        try "x".write(toFile: directory + "/hosts/bad-name", atomically: true, encoding: .utf8)
        let results = Dictionary(uniqueKeysWithValues: try TincConfigDirectory(path: directory).hostFiles().map { ($0.name.rawValue, $0.result) })
        XCTAssertNil(results["bad-name"], "not a valid node name, not a host file")
        for (name, _) in cases {
            let host = try XCTUnwrap(results[name]).get()
            XCTAssertNil(host.publicKey, name)
            XCTAssertNotNil(host.publicKeyProblem, name)
        }
        XCTAssertTrue(try results["badbase64"]!.get().publicKeyProblem!.contains("base64"))
        XCTAssertThrowsError(try results["novalue"]!.get())
        XCTAssertThrowsError(try results["rawbytes"]!.get())
        XCTAssertNotNil(try results["node1"]!.get().publicKey)
    }

    func testHostFileSubnetsAndAddressWithPort() throws {
        let host = try TincHostFile(name: "n", text: "Address = 192.0.2.7 6655\nAddress = n.example.org\nSubnet = 198.51.100.7/32\nSubnet = 2001:db8::7\nSubnet = nonsense\n")
        XCTAssertEqual(host.addresses, [TincHostAddress(host: "192.0.2.7", port: "6655"), TincHostAddress(host: "n.example.org")])
        XCTAssertEqual(host.subnets.map(\.description), ["198.51.100.7/32", "2001:db8::7/128"])
        XCTAssertEqual(host.invalidSubnets, ["nonsense"])
    }

    func testWriterRoundTrip() throws {
        let pem = try Fixture.text("node1-tinc/hosts/node2")
        let key = try TincRSAPublicKey(pemText: pem)
        let text = try TincConfigWriter.hostFile(addresses: [TincHostAddress(host: "192.0.2.2")], port: "655",
                                                 subnets: [try TincSubnet(parsing: "198.51.100.2/32")], publicKeyPEM: pem)
        let parsed = try TincHostFile(name: "node2", text: text)
        XCTAssertEqual(parsed.publicKey, key)
        XCTAssertEqual(parsed.subnets.map(\.description), ["198.51.100.2/32"])
        XCTAssertEqual(key.pem, String(pem[pem.range(of: "-----BEGIN")!.lowerBound...]), "the same bytes tincd -K wrote")
        XCTAssertThrowsError(try TincConfigWriter.hostFile(addresses: [TincHostAddress(host: "a\nConnectTo = x")], port: nil, subnets: [], publicKeyPEM: pem))
        XCTAssertThrowsError(try TincConfigWriter.hostFile(addresses: [], port: nil, subnets: [], publicKeyPEM: "garbage"))

        let names = ["node3", "node2", "node3"].compactMap(TincNodeName.init)
        let conf = TincConfigWriter.connectToFile(names)
        XCTAssertEqual(conf, "# Managed by bgpmesh-agent; do not edit.\nConnectTo = node2\nConnectTo = node3\n")
        XCTAssertEqual(try TincConfigParser.parse(conf, file: "c").map(\.value), ["node2", "node3"])
    }

    func testNodeNames() {
        for good in ["node1", "A_b_9", "_", String(repeating: "x", count: 255)] { XCTAssertTrue(TincNodeName.isValid(good), good) }
        for bad in ["", "../etc", "a/b", "a b", "a-b", "a.b", "é", "a\n", "a\0", String(repeating: "x", count: 256)] {
            XCTAssertFalse(TincNodeName.isValid(bad), bad.debugDescription)
            XCTAssertThrowsError(try TincNodeName.validate(bad))
        }
        XCTAssertEqual(TincNodeName("node2")?.hostFilePath(netDirectory: "/etc/tinc/bgpmesh"), "/etc/tinc/bgpmesh/hosts/node2")
    }
}
