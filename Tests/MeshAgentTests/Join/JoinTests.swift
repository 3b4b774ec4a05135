import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// `bgpmesh-agent join` in a temporary directory, with the real tincd -K and bird -p.
final class JoinTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = "/tmp/bgpmesh-join-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func request(name: String = "node7") -> JoinRequest {
        var r = JoinRequest(name: name, etcdEndpoints: ["http://192.0.2.1:2379", "http://192.0.2.2:2379"], underlay: "192.0.2.7",
                            overlays: ["198.51.100.7/24", "2001:db8::7/64"])
        r.announce = ["203.0.113.7/32", "2001:db8:ff:7::/64"]
        r.tincDir = "\(root)/etc/tinc/bgpmesh"
        r.birdConf = "\(root)/etc/bird/bird.conf"
        r.birdSocket = "\(root)/run/bird.ctl"
        r.configFile = "\(root)/etc/bgpmesh/agent.yml"
        r.stateDir = "\(root)/var/lib/bgpmesh"
        r.settings = ["collector.tinc.pidfile=\(root)/run/tinc.pid", "log.level=debug"]
        return r
    }

    func tools() throws -> Join.Tools {
        try Join.Tools.find(searchPath: "/usr/sbin:/usr/bin:/sbin:/bin", needIP: false)
    }

    func run(_ r: JoinRequest, dryRun: Bool = false) async throws -> JoinReport {
        try await Join.run(try r.validated(), tools: try tools(), dryRun: dryRun, createInterface: false)
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    /// Every file under `root` with its bytes and mtime.
    func snapshot() throws -> [String: String] {
        var out: [String: String] = [:]
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String {
            let full = "\(root)/\(p)"
            let a = try FileManager.default.attributesOfItem(atPath: full)
            let body = (a[.type] as? FileAttributeType) == .typeRegular ? try read(full) : "dir"
            out[p] = "\(body)|\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)|\(a[.posixPermissions] ?? 0)"
        }
        return out
    }

    func testAFreshNodeGetsEveryFileAndARealKeyPair() async throws {
        let report = try await run(request())
        XCTAssertEqual(report.lines.map(\.action).filter { $0 != "created" }, [], report.text)
        let s = try request().validated()
        // The key pair from tincd -K: private key 600, the host file carries the matching public key.
        XCTAssertEqual(try mode(s.privateKeyFile), 0o600)
        let key = try TincRSAPrivateKey(contentsOfFile: s.privateKeyFile)
        let host = try TincConfigDirectory(path: s.tincDir).hostFile(s.name)
        XCTAssertEqual(host.publicKey, key.publicKey)
        XCTAssertEqual(host.addresses.map(\.host), ["192.0.2.7"])
        XCTAssertEqual(host.subnets.map(\.description).sorted(), ["198.51.100.7/32", "2001:db8::7/128"])
        XCTAssertEqual(try TincConfigDirectory(path: s.tincDir).serverConfig().name, "node7")
        XCTAssertEqual(try mode(s.tincDir + "/tinc-up"), 0o755)
        XCTAssertTrue(try read(s.tincDir + "/tinc-up").contains("ip addr replace 198.51.100.7/24 dev \"$INTERFACE\""))
        XCTAssertEqual(try mode(s.stateDir), 0o700)
        XCTAssertEqual(try read(s.birdPeersFile), "")
        // The agent starts with the config file (parsed and validated as `run` does).
        let config = try AgentConfiguration.load(file: s.configFile)
        try Agent.validate(config)
        XCTAssertEqual(config.tincDir, s.tincDir)
        XCTAssertEqual(config.birdPeersFile, s.birdPeersFile)
        XCTAssertEqual(config.etcdEndpoints, ["http://192.0.2.1:2379", "http://192.0.2.2:2379"])
        XCTAssertEqual(config.meshOverlayPrefixes.map(\.description).sorted(),
                       ["198.51.100.0/24", "2001:db8::/64", "2001:db8:ff:7::/64", "203.0.113.7/32"])
        XCTAssertEqual(config.logLevel.rawValue, "debug")
        XCTAssertEqual(config.meshASN, 65000)
    }

    func testASecondRunKeepsEveryFileUntouched() async throws {
        _ = try await run(request())
        let before = try snapshot()
        let again = try await run(request())
        XCTAssertEqual(Set(again.lines.map(\.action)), ["kept"], again.text)
        XCTAssertEqual(try snapshot(), before)
    }

    func testTheOperatorsFilesAreKeptAndBirdConfGetsANote() async throws {
        let s = try request().validated()
        try FileManager.default.createDirectory(atPath: s.tincDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc/bird", withIntermediateDirectories: true)
        try "#!/bin/sh\n# mine\n".write(toFile: s.tincDir + "/tinc-up", atomically: true, encoding: .utf8)
        let operatorConf = "router id 192.0.2.7;\nprotocol device {}\n"
        try operatorConf.write(toFile: s.birdConf, atomically: true, encoding: .utf8)
        let report = try await run(request())
        XCTAssertEqual(report.lines.first { $0.label == "tinc-up" }?.action, "kept")
        XCTAssertEqual(report.lines.first { $0.label == "bird.conf" }?.action, "kept")
        XCTAssertEqual(try read(s.tincDir + "/tinc-up"), "#!/bin/sh\n# mine\n")
        XCTAssertEqual(try read(s.birdConf), operatorConf)
        XCTAssertEqual(report.notes.count, 1)
        XCTAssertTrue(report.notes[0].contains("include \"\(s.birdPeersFile)\";"), report.notes[0])
    }

    func testDryRunTouchesNothing() async throws {
        let report = try await run(request(), dryRun: true)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [])
        XCTAssertEqual(Set(report.lines.map(\.action)), ["would create", "would create (tincd -K 2048)"], report.text)
        XCTAssertTrue(report.text.contains("RSA key pair: \(root)/etc/tinc/bgpmesh/rsa_key.priv"))
    }

    func testConflictsStopBeforeAnyWrite() async throws {
        let s = try request().validated()
        try FileManager.default.createDirectory(atPath: s.tincDir, withIntermediateDirectories: true)
        try "Name = other\n".write(toFile: s.tincDir + "/tinc.conf", atomically: true, encoding: .utf8)
        do {
            _ = try await run(request())
            XCTFail("a tinc.conf naming another node must stop join")
        } catch let error as JoinError {
            XCTAssertTrue(error.description.contains("says Name = other, not node7"), error.description)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tincDir), ["tinc.conf"])

        // A host file with a key but no private key: a new key would not match what the mesh pinned.
        _ = try await run(request(name: "node8").with { $0.tincDir = root + "/b" })
        try FileManager.default.removeItem(atPath: root + "/b/rsa_key.priv")
        do {
            _ = try await run(request(name: "node8").with { $0.tincDir = root + "/b" })
            XCTFail("a host key without its private key must stop join")
        } catch let error as JoinError {
            XCTAssertTrue(error.description.contains("rsa_key.priv is missing"), error.description)
        }
    }

    func testAnExistingPrivateKeyGetsItsPublicKeyIntoANewHostFile() async throws {
        let s = try request().validated()
        try FileManager.default.createDirectory(atPath: s.tincDir, withIntermediateDirectories: true)
        let key = try TincRSAPrivateKey.generate(bits: 1024)
        try key.write(toFile: s.privateKeyFile)
        let report = try await run(request())
        XCTAssertEqual(report.lines.first { $0.label == "RSA key pair" }?.action, "public key added to the host file")
        XCTAssertEqual(try TincConfigDirectory(path: s.tincDir).hostFile(s.name).publicKey, key.publicKey)
    }

    func testBadInputIsRefusedNamingTheFlag() {
        func refused(_ change: (inout JoinRequest) -> Void, _ flag: String) {
            var r = request()
            change(&r)
            XCTAssertThrowsError(try r.validated()) { error in
                XCTAssertTrue("\(error)".hasPrefix(flag + " "), "\(error)")
            }
        }
        refused({ $0.name = "../etc" }, "--name")
        refused({ $0.name = "a/b" }, "--name")
        refused({ $0.net = "x/../y" }, "--net")
        refused({ $0.underlay = "192.0.2.7/24" }, "--underlay")
        refused({ $0.underlay = "node7.example" }, "--underlay")
        refused({ $0.overlays = ["198.51.100.7"] }, "--overlay")
        refused({ $0.overlays = ["198.51.100.7/24", "198.51.100.8/24"] }, "--overlay")
        refused({ $0.announce = ["203.0.113.7/24"] }, "--announce")
        refused({ $0.etcdEndpoints = ["192.0.2.1:2379"] }, "--etcd")
        refused({ $0.tincDir = "relative/dir" }, "--tinc-dir")
        refused({ $0.configFile = "/etc/../tmp/x" }, "--config")
        refused({ $0.settings = ["novalue"] }, "--set")
        refused({ $0.keyBits = 512 }, "--key-bits")
        refused({ $0.interface = "a-very-long-interface" }, "--interface")
    }

    func testAnUnknownSettingIsRefusedBeforeTheConfigIsWritten() async throws {
        var r = request()
        r.settings = ["no.such-setting=1"]
        do {
            _ = try await run(r)
            XCTFail("the agent would refuse that config")
        } catch let error as JoinError {
            XCTAssertTrue(error.description.contains("no.such-setting"), error.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: r.configFile))
    }

    func testEtcdUnreachableIsAClearError() async {
        do {
            try await Join.checkEtcd(["http://127.0.0.1:9"], timeout: .seconds(2))
            XCTFail("nothing listens on port 9")
        } catch {
            XCTAssertTrue(error.description.hasPrefix("etcd unreachable at http://127.0.0.1:9 within 2 s"), error.description)
        }
    }

    func testMissingBinariesAreNamed() {
        XCTAssertThrowsError(try Join.Tools.find(searchPath: root, needIP: false)) { error in
            XCTAssertTrue("\(error)".hasPrefix("tincd not found in PATH"), "\(error)")
        }
    }

    func testWaitProgressAndStatusURL() throws {
        XCTAssertEqual(JoinWait.statusURL(listen: ":10179"), "http://127.0.0.1:10179/api/v1/status")
        XCTAssertEqual(JoinWait.statusURL(listen: "192.0.2.4:10179"), "http://192.0.2.4:10179/api/v1/status")
        let waiting = try XCTUnwrap(JoinWait.Progress.parse("""
            {"node":"node4","registry_synced":true,"bgp":{"established":1,"expected_sessions":[
            {"peer":"node1","state":"Established"},{"peer":"node2","state":"Active"}]}}
            """))
        XCTAssertFalse(waiting.done)
        XCTAssertEqual(waiting.line, "1/2 BGP sessions Established (waiting: node2 Active)")
        let none = try XCTUnwrap(JoinWait.Progress.parse(#"{"registry_synced":true,"bgp":{"established":0}}"#))
        XCTAssertFalse(none.done, "no plan yet is not done")
    }
}

extension JoinRequest {
    func with(_ change: (inout JoinRequest) -> Void) -> JoinRequest {
        var copy = self
        change(&copy)
        return copy
    }
}
