import XCTest
@testable import MeshAgent

final class ConfigurationTests: XCTestCase {
    func testDefaults() {
        let c = AgentConfiguration()
        XCTAssertEqual(c.listenAddresses, [":10179"])
        XCTAssertEqual(c.logLevel, .info)
        XCTAssertEqual(c.logFormat, .logfmt)
        XCTAssertEqual(c.enabledCollectors, ["bird", "etcd", "probe", "process", "tinc"])
        XCTAssertEqual(c.etcdEndpoints, [])
        XCTAssertEqual(c.birdSocket, "/run/bird/bird.ctl")
        XCTAssertFalse(c.birdCompat)
    }

    func testNestedAndDottedKeysAreTheSame() throws {
        let nested = try AgentConfiguration.parse(yaml: """
            web:
              listen-address: ["127.0.0.1:9999", "[::1]:9999"]
              read-timeout: 2s
            log:
              level: debug
              format: json
            collector:
              process: false
              timeout: 1500ms
            """, path: "a.yml")
        let dotted = try AgentConfiguration.parse(yaml: """
            web.listen-address:
              - 127.0.0.1:9999
              - "[::1]:9999"
            web.read-timeout: 2s
            log.level: debug
            log.format: json
            collector.process: no
            collector.timeout: 1.5s
            """, path: "b.yml")
        XCTAssertEqual(nested, dotted)
        XCTAssertEqual(nested.listenAddresses, ["127.0.0.1:9999", "[::1]:9999"])
        XCTAssertEqual(nested.readTimeout, .seconds(2))
        XCTAssertEqual(nested.collectorTimeout, .milliseconds(1500))
        XCTAssertEqual(nested.logLevel, .debug)
        XCTAssertEqual(nested.logFormat, .json)
        XCTAssertEqual(nested.enabledCollectors, ["bird", "etcd", "probe", "tinc"])
    }

    func testCollectorSwitchNextToItsSettings() throws {
        let c = try AgentConfiguration.parse(yaml: """
            collector:
              bird:
                enabled: false
                socket: /var/run/bird/bird.ctl
                compat: true
                sampler-interval: 2s
            """, path: "b.yml")
        XCTAssertEqual(c.enabledCollectors, ["etcd", "probe", "process", "tinc"])
        XCTAssertEqual(c.birdSocket, "/var/run/bird/bird.ctl")
        XCTAssertTrue(c.birdCompat)
        XCTAssertEqual(c.birdSamplerInterval, .seconds(2))
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "collector.bird.sockett: /x\n", path: "t.yml")) { error in
            XCTAssertEqual(error as? ConfigError, .unknownKey(key: "collector.bird.sockett", source: "t.yml", line: 1))
        }
    }

    func testEtcdEndpoints() throws {
        let c = try AgentConfiguration.parse(yaml: "etcd:\n  endpoints: http://192.0.2.1:12379,http://192.0.2.2:12379\n", path: "e.yml")
        XCTAssertEqual(c.etcdEndpoints, ["http://192.0.2.1:12379", "http://192.0.2.2:12379"])
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "etcd.endpoints: [192.0.2.1:12379]\n", path: "e.yml"))
    }

    func testUnknownKeyNamesKeyAndLine() {
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "log:\n  level: info\n  colour: red\n", path: "c.yml")) { error in
            XCTAssertEqual(error as? ConfigError, .unknownKey(key: "log.colour", source: "c.yml", line: 3))
            XCTAssertEqual("\(error)", "c.yml line 3: unknown key \"log.colour\"")
        }
    }

    func testUnknownCollectorIsUnknownKey() {
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "collector.nope: true\n", path: "c.yml")) { error in
            XCTAssertEqual(error as? ConfigError, .unknownKey(key: "collector.nope", source: "c.yml", line: 1))
        }
    }

    func testInvalidValues() {
        let cases: [(String, String)] = [
            ("log.level: loud\n", "log.level"),
            ("log.format: xml\n", "log.format"),
            ("web.max-connections: many\n", "web.max-connections"),
            ("web.max-connections: 0\n", "web.max-connections"),
            ("web.read-timeout: soon\n", "web.read-timeout"),
            ("web.read-timeout: 0s\n", "web.read-timeout"),
            ("web.listen-address: localhost\n", "web.listen-address"),
            ("web.listen-address: \":99999\"\n", "web.listen-address"),
            ("web.listen-address: \"::1:80\"\n", "web.listen-address"),
            ("web.listen-address: []\n", "web.listen-address"),
            ("log.level: [info, debug]\n", "log.level"),
            ("collector.process: maybe\n", "collector.process"),
            ("log.level:\n", "log.level"),
        ]
        for (yaml, key) in cases {
            XCTAssertThrowsError(try AgentConfiguration.parse(yaml: yaml, path: "v.yml"), yaml) { error in
                guard case let .invalidValue(k, _, _, line, _) = error as? ConfigError else {
                    return XCTFail("\(yaml): \(error)")
                }
                XCTAssertEqual(k, key)
                XCTAssertEqual(line, 1)
            }
        }
    }

    func testSyntaxErrorHasLine() {
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "log:\n  level: info\n   format: [json\n", path: "s.yml")) { error in
            guard case let .syntax(path, line, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "s.yml")
            XCTAssertNotNil(line)
        }
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "- a\n- b\n", path: "l.yml")) { error in
            guard case .syntax = error as? ConfigError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "log:\n  level: info\n  level: debug\n", path: "d.yml"))
    }

    func testEmptyFileKeepsDefaults() throws {
        XCTAssertEqual(try AgentConfiguration.parse(yaml: "", path: "e.yml"), AgentConfiguration())
        XCTAssertEqual(try AgentConfiguration.parse(yaml: "# only a comment\n", path: "e.yml"), AgentConfiguration())
    }

    func testUnreadableFile() {
        XCTAssertThrowsError(try AgentConfiguration.load(file: "/nonexistent/agent.yml")) { error in
            XCTAssertEqual("\(error)", "cannot read config file /nonexistent/agent.yml: No such file or directory (open, errno 2)")
        }
    }

    func testNonUTF8FileIsRefused() throws {
        let path = NSTemporaryDirectory() + "bgpmesh-bad-\(getpid()).yml"
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x6c, 0x6f, 0x67, 0x3a, 0xff, 0xfe, 0x0a]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try AgentConfiguration.load(file: path))
    }

    func testFlagsApplyAfterTheFileAndWin() throws {
        var c = try AgentConfiguration.parse(yaml: "log.level: debug\nweb.listen-address: [\":1\"]\n", path: "f.yml")
        try c.apply("log.level", .scalar("error"), from: .flag("log.level"))
        XCTAssertEqual(c.logLevel, .error)
        XCTAssertEqual(c.listenAddresses, [":1"])
        XCTAssertThrowsError(try c.apply("log.level", .scalar("x"), from: .flag("log.level"))) { error in
            XCTAssertEqual("\(error)", "flag --log.level: invalid value \"x\" for log.level: expected one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func testEveryDocumentedKeyIsAccepted() throws {
        // The settings table drives the flags, --help and docs/configuration.md; each key must parse.
        let samples: [String: ConfigValue] = [
            "web.listen-address": .list([":1"]), "web.max-connections": .scalar("5"),
            "web.read-timeout": .scalar("1s"), "web.idle-timeout": .scalar("1s"),
            "web.max-request-body-bytes": .scalar("100"), "web.shutdown-grace": .scalar("0s"), "log.level": .scalar("info"),
            "log.format": .scalar("json"), "collector.timeout": .scalar("2s"),
            "collector.bird.socket": .scalar("/tmp/b.ctl"), "collector.bird.timeout": .scalar("1s"),
            "collector.bird.sampler-interval": .scalar("2s"), "collector.bird.convergence-stable-polls": .scalar("5"),
            "collector.bird.route-count-interval": .scalar("30s"), "collector.bird.detail-interval": .scalar("2s"),
            "collector.etcd.interval": .scalar("10s"),
            "collector.tinc.net": .scalar("mesh_1"), "collector.tinc.dir": .scalar("/etc/tinc/mesh_1"),
            "collector.tinc.pidfile": .scalar("/run/tinc.pid"), "collector.tinc.logfile": .scalar("/var/log/tinc.log"),
            "collector.tinc.interface": .scalar("tinc0"), "collector.tinc.min-dump-interval": .scalar("10s"),
            "collector.tinc.signal-lock-file": .scalar("/run/tinc.lock"),
            "etcd.endpoints": .list(["http://192.0.2.1:12379", "https://192.0.2.2:12379"]), "etcd.ca-file": .scalar("/etc/ca.pem"),
            "etcd.cert-file": .scalar("/etc/c.pem"), "etcd.key-file": .scalar("/etc/k.pem"), "etcd.username": .scalar("agent"),
            "etcd.password-file": .scalar("/etc/pw"), "etcd.timeout": .scalar("3s"),
            "collector.probe.interval": .scalar("2s"), "collector.probe.timeout": .scalar("500ms"),
            "collector.probe.window": .scalar("30s"), "collector.probe.target": .list(["node9=198.51.100.9", "v6=2001:db8::9"]),
            "mesh.name": .scalar("lab-1"), "mesh.connect-to": .scalar("4"), "mesh.connect-to-grace": .scalar("2m"),
            "registry.prefix": .scalar("/meshes/lab/"), "registry.alive-ttl": .scalar("10s"),
            "registry.max-record-bytes": .scalar("32768"), "registry.max-nodes": .scalar("64"),
            "registry.max-subnets": .scalar("4"), "registry.admin-public-key": .scalar("/etc/bgpmesh/admin.pub"),
            "registry.enrollment-file": .scalar("/var/lib/bgpmesh/enrollment.json"), "state.dir": .scalar("/var/lib/bgpmesh"),
            "mesh.overlay-prefixes": .list(["198.51.100.0/24", "2001:db8::/32"]),
            "repair.mode": .scalar("dry-run"), "repair.max-actions": .scalar("5"), "repair.interval": .scalar("2s"),
            "repair.bgp-grace": .scalar("5s"), "repair.peer-grace": .scalar("5s"), "repair.cooldown": .scalar("1s"),
            "repair.cooldown-max": .scalar("30s"), "repair.window": .scalar("5m"),
            "repair.episode-backoff-max": .scalar("10m"), "repair.episode-clear": .scalar("1m"),
            "repair.tincd-restart-command": .scalar("systemctl restart tinc@bgpmesh"),
            "repair.bird-restart-command": .scalar("systemctl restart bird"),
            "keys.rotate-interval": .scalar("720h"), "keys.bits": .scalar("3072"), "keys.rotation-ack-timeout": .scalar("2m"),
            "mesh.asn": .scalar("4200000001"), "mesh.bgp-topology": .scalar("reflectors"), "mesh.role": .scalar("reflector"),
            "bird.peers-file": .scalar("/etc/bird/bgpmesh-peers.conf"), "bird.template": .scalar("mesh_peer"),
            "bird.rr-cluster-id": .scalar("192.0.2.1"), "bird.password-file": .scalar("/etc/bird/bgpmesh.password"),
        ]
        var c = AgentConfiguration()
        for setting in AgentConfiguration.settings {
            let value = samples[setting.key] ?? .scalar("true")
            XCTAssertNoThrow(try c.apply(setting.key, value, from: .flag(setting.key)), setting.key)
        }
        XCTAssertEqual(Set(samples.keys).subtracting(AgentConfiguration.settings.map(\.key)), [], "samples of keys the table lacks")
    }

    func testRegistrySettings() throws {
        var c = try AgentConfiguration.parse(yaml: """
            mesh:
              name: lab
              connect-to: 2
            registry:
              enabled: false
              alive-ttl: 3s
            """, path: "f.yml")
        XCTAssertEqual(c.effectiveRegistryPrefix, "/bgpmesh/lab/")
        XCTAssertEqual(c.meshConnectTo, 2)
        XCTAssertFalse(c.registryEnabled)
        XCTAssertEqual(c.registryAliveTTL, .seconds(3))
        try c.apply("registry.prefix", .scalar("/x/y"), from: .flag("registry.prefix"))
        XCTAssertEqual(c.effectiveRegistryPrefix, "/x/y/")
        for (key, bad) in [("registry.alive-ttl", "1s"), ("mesh.name", "a/b"), ("registry.prefix", "noslash"),
                           ("mesh.connect-to", "-1"), ("registry.max-record-bytes", "10"), ("mesh.asn", "4294967296"),
                           ("mesh.bgp-topology", "star"), ("mesh.role", "leader"), ("bird.template", "1abc"),
                           ("bird.template", "a-b"), ("bird.rr-cluster-id", "10.0.0.256"), ("bird.rr-cluster-id", "01.2.3.4")] {
            XCTAssertThrowsError(try c.apply(key, .scalar(bad), from: .flag(key)), "\(key)=\(bad)")
        }
    }

    func testListenAddressSyntax() {
        for ok in [":10179", "0.0.0.0:10179", "127.0.0.1:0", "[::1]:8080", "[::]:1", "192.0.2.1:10179", "localhost:80"] {
            XCTAssertNil(ListenAddressSyntax.validate(ok), ok)
        }
        for bad in ["10179", "::1:80", "[::1]80", "[::1", "1.2.3.4:", "1.2.3.4:-1", ":65536", "[1.2.3.4]:80", "a b:80"] {
            XCTAssertNotNil(ListenAddressSyntax.validate(bad), bad)
        }
    }

    func testDurations() {
        XCTAssertEqual(DurationSyntax.parse("10s"), .seconds(10))
        XCTAssertEqual(DurationSyntax.parse("250ms"), .milliseconds(250))
        XCTAssertEqual(DurationSyntax.parse("1m30s"), .seconds(90))
        XCTAssertEqual(DurationSyntax.parse("1h"), .seconds(3600))
        XCTAssertEqual(DurationSyntax.parse("2"), .seconds(2))
        XCTAssertEqual(DurationSyntax.parse("0.5"), .milliseconds(500))
        for bad in ["", "s", "10x", "ten seconds", "-1s", "1e400s"] { XCTAssertNil(DurationSyntax.parse(bad), bad) }
        XCTAssertEqual(DurationSyntax.format(.seconds(10)), "10s")
        XCTAssertEqual(DurationSyntax.format(.milliseconds(250)), "250ms")
        XCTAssertEqual(DurationSyntax.format(.milliseconds(1500)), "1.5s")
    }
}
