import XCTest
@testable import MeshAgent

/// The settings table, and what is made from it: the flags, `--help` and docs/configuration.md.
final class SettingsTableTests: XCTestCase {
    func testEveryKeyIsWellFormedAndOnce() {
        let keys = AgentConfiguration.settings.map(\.key)
        XCTAssertEqual(keys.count, Set(keys).count, "a key is in the table twice")
        for s in AgentConfiguration.settings {
            XCTAssertTrue(s.key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "-" }, s.key)
            XCTAssertFalse(s.help.isEmpty, s.key)
            XCTAssertTrue(s.help.hasSuffix("."), "\(s.key): help is one sentence ending in a period")
            XCTAssertFalse(s.key.hasPrefix("no-"), "\(s.key) would clash with the --no- of a switch")
        }
        // The collector switches are the collectors this build knows.
        XCTAssertEqual(AgentConfiguration.defaultCollectors, ["process": true, "bird": true, "tinc": true, "probe": true, "etcd": true])
    }

    /// The default the help and the reference print is the value the agent starts
    /// with: parsed back, it changes nothing.
    func testDocumentedDefaultsParseBackToTheDefaults() throws {
        let defaults = AgentConfiguration()
        var checked = 0
        for s in AgentConfiguration.settings where s.show(defaults) != nil {
            var c = defaults
            let text = s.defaultText
            let value: ConfigValue = s.kind == .list ? .list(text.components(separatedBy: ", ")) : .scalar(text)
            try c.apply(s.key, value, from: ConfigSource("default"))
            XCTAssertEqual(c, defaults, "\(s.key): default \(text) reads back as something else")
            checked += 1
        }
        for s in AgentConfiguration.settings where s.unsetText == nil {
            XCTAssertNotNil(s.show(defaults), "\(s.key) has no default and does not say what unset means")
        }
        XCTAssertGreaterThanOrEqual(checked, AgentConfiguration.settings.filter { $0.unsetText == nil }.count)
        XCTAssertEqual(AgentConfiguration.settings.first { $0.key == "web.read-timeout" }?.defaultText, "10s")
        XCTAssertEqual(AgentConfiguration.settings.first { $0.key == "collector.tinc.dir" }?.defaultText, "/etc/tinc/<net>")
        XCTAssertEqual(AgentConfiguration.settings.first { $0.key == "etcd.endpoints" }?.defaultText, "none")
    }

    func testFlagSpellings() throws {
        let flags = try AgentConfiguration.parseFlags([
            "--log.level", "debug", "--log.level=error", "--web.listen-address", ":1", "--no-collector.bird",
            "--web.listen-address=[::1]:2", "--collector.bird.compat", "--registry=false", "--mesh.connect-to", "-1",
            "--etcd.endpoints", "http://192.0.2.1:2379,http://192.0.2.2:2379", "--repair.tincd-restart-command=a=b",
        ])
        XCTAssertEqual(flags.map(\.key), ["log.level", "log.level", "web.listen-address", "collector.bird", "collector.bird.compat",
                                          "registry", "mesh.connect-to", "etcd.endpoints", "repair.tincd-restart-command"])
        XCTAssertEqual(flags.map(\.value), [.scalar("debug"), .scalar("error"), .list([":1", "[::1]:2"]), .scalar("false"), .scalar("true"),
                                            .scalar("false"), .scalar("-1"), .list(["http://192.0.2.1:2379,http://192.0.2.2:2379"]),
                                            .scalar("a=b")])
        var c = AgentConfiguration()
        XCTAssertThrowsError(try c.apply(flags: flags)) { error in
            XCTAssertEqual("\(error)", "flag --mesh.connect-to: invalid value \"-1\" for mesh.connect-to: must be between 0 and 64")
        }
        var without = flags
        without.removeAll { $0.key == "mesh.connect-to" }
        try c.apply(flags: without)
        XCTAssertEqual(c.logLevel, .error, "the last of a repeated flag wins")
        XCTAssertEqual(c.listenAddresses, [":1", "[::1]:2"])
        XCTAssertEqual(c.enabledCollectors, ["etcd", "probe", "process", "tinc"])
        XCTAssertTrue(c.birdCompat)
        XCTAssertFalse(c.registryEnabled)
        XCTAssertEqual(c.etcdEndpoints, ["http://192.0.2.1:2379", "http://192.0.2.2:2379"])
        XCTAssertEqual(c.repairTincdRestartCommand, "a=b")
    }

    func testEveryFlagOfTheTableIsAccepted() throws {
        for s in AgentConfiguration.settings {
            let args = s.kind == .toggle ? ["--no-\(s.key)", "--\(s.key)"] : ["--\(s.key)", "x"]
            XCTAssertEqual(try AgentConfiguration.parseFlags(args).map(\.key), s.kind == .toggle ? [s.key, s.key] : [s.key])
        }
    }

    func testBadCommandLinesAreRefused() {
        let cases: [([String], String)] = [
            (["--log.levl", "x"], "unknown option '--log.levl'"),
            (["--log.level"], "--log.level needs a value (trace|debug|info|notice|warning|error|critical)"),
            (["--log.level", "--log.format", "json"], "--log.level needs a value (trace|debug|info|notice|warning|error|critical)"),
            (["--no-registry=true"], "--no-registry takes no value"),
            (["--no-log.level"], "unknown option '--no-log.level'"),
            (["stray"], "unexpected argument 'stray'"),
            (["-x"], "unexpected argument '-x'"),
            (["--collector.bird.enabled"], "unknown option '--collector.bird.enabled'"),
        ]
        for (args, message) in cases {
            XCTAssertThrowsError(try AgentConfiguration.parseFlags(args), "\(args)") { error in
                XCTAssertEqual(error as? ConfigError, .commandLine(message))
            }
        }
    }

    func testSwitchesTakeTheirEnabledSpellingInYAML() throws {
        let a = try AgentConfiguration.parse(yaml: "registry: false\ncollector.tinc: off\n", path: "a.yml")
        let b = try AgentConfiguration.parse(yaml: "registry:\n  enabled: false\ncollector:\n  tinc:\n    enabled: off\n", path: "b.yml")
        XCTAssertEqual(a, b)
        XCTAssertFalse(a.registryEnabled)
        XCTAssertEqual(a.enabledCollectors, ["bird", "etcd", "probe", "process"])
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "collector.bird.compat.enabled: true\n", path: "c.yml")) { error in
            XCTAssertEqual(error as? ConfigError, .unknownKey(key: "collector.bird.compat.enabled", source: "c.yml", line: 1))
        }
    }

    func testASettingSetTwiceInAnySpellingIsRefused() {
        let cases: [(String, Int, String)] = [
            ("log:\n  level: info\nlog.level: debug\n", 3, "duplicate key log.level (also on line 2)"),
            ("collector.bird: false\ncollector:\n  bird:\n    enabled: true\n", 4,
             "duplicate key collector.bird.enabled (collector.bird is set on line 1 too)"),
        ]
        for (yaml, line, reason) in cases {
            XCTAssertThrowsError(try AgentConfiguration.parse(yaml: yaml, path: "d.yml")) { error in
                XCTAssertEqual(error as? ConfigError, .syntax(path: "d.yml", line: line, reason: reason))
            }
        }
    }

    func testHelpListsEveryFlagWithItsDefault() {
        let help = SettingsReference.help()
        let flat = help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        for s in AgentConfiguration.settings {
            XCTAssertTrue(help.contains("\n  \(s.flagUsage)\n"), "\(s.flagUsage) missing from --help")
            XCTAssertTrue(flat.contains("\(s.help) (default: \(s.defaultText))"), "\(s.key): help or default missing from --help")
        }
        XCTAssertTrue(help.contains("--collector.process/--no-collector.process"))
        for line in help.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 76, String(line)) }
    }

    /// docs/configuration.md is generated from the table; this fails when they disagree.
    func testCommittedReferenceMatchesTheTable() throws {
        let path = Self.repositoryRoot.appendingPathComponent("docs/configuration.md").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        let generated = SettingsReference.markdown()
        guard committed != generated else { return }
        let a = committed.split(separator: "\n", omittingEmptySubsequences: false)
        let b = generated.split(separator: "\n", omittingEmptySubsequences: false)
        let first = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        XCTFail("""
            \(path) disagrees with the settings table from line \(first + 1):
              committed: \(first < a.count ? String(a[first]) : "<end of file>")
              generated: \(first < b.count ? String(b[first]) : "<end of file>")
            Regenerate it with: \(SettingsReference.regenerateCommand)
            """)
    }

    /// The example in the reference and the docker deployment's file are configurations the agent takes.
    func testShippedExamplesParse() throws {
        let md = SettingsReference.markdown()
        let example = try XCTUnwrap(md.components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        let c = try AgentConfiguration.parse(yaml: example, path: "docs/configuration.md")
        XCTAssertEqual(c.listenAddresses, ["192.0.2.1:10179", "127.0.0.1:10179"])
        XCTAssertEqual(c.etcdEndpoints.count, 2)
        let docker = Self.repositoryRoot.appendingPathComponent("docker/agent.yml").path
        XCTAssertEqual(try AgentConfiguration.load(file: docker).tincNet, "bgpmesh")
    }

    func testReferenceHasEverySetting() {
        let md = SettingsReference.markdown()
        for s in AgentConfiguration.settings {
            XCTAssertTrue(md.contains("| `\(s.key)`"), s.key)
        }
        XCTAssertTrue(md.contains("`collector.bird` or `collector.bird.enabled` (*switch*)"), md)
        XCTAssertTrue(md.contains("`--log.level <trace\\|debug\\|info\\|notice\\|warning\\|error\\|critical>`"), md)
        XCTAssertFalse(md.contains("<tinc dir>"), "an unescaped <name> reads as HTML")
    }

    /// The checkout this test file is in.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}
