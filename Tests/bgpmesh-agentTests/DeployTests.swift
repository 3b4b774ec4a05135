import Foundation
import MeshAgent
import TestSupport
import XCTest

/// deploy/: the systemd unit passes `systemd-analyze verify` and stays hardened, and the Ansible
/// role passes ansible-lint. The lab's LabJoinTests runs the role for real.
final class DeployTests: XCTestCase {
    static let repo = ScrapeOnceGoldenTests.testsDir.deletingLastPathComponent()
    static let unit = repo.appendingPathComponent("deploy/systemd/bgpmesh-agent.service").path

    func tool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw ToolFailure(description: "\(name) is missing: run scripts/install-deps.sh (group deploy)")
    }

    /// The shipped unit with only ExecStart's binary pointed at the build (verify wants it to exist).
    func unitCopy() throws -> (dir: String, path: String) {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let shipped = "ExecStart=/usr/local/bin/bgpmesh-agent "
        XCTAssertTrue(text.contains(shipped))
        let dir = NSTemporaryDirectory() + "bgpmesh-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let path = dir + "/bgpmesh-agent.service"
        try text.replacingOccurrences(of: shipped, with: "ExecStart=\(ScrapeOnceGoldenTests.agentBinary) ")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    func testTheUnitVerifiesWithoutAWarning() throws {
        let copy = try unitCopy()
        defer { try? FileManager.default.removeItem(atPath: copy.dir) }
        let r = try runToCompletion(try tool("systemd-analyze"), ["verify", copy.path], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        // Unknown or misspelt directives are only warnings to verify.
        XCTAssertEqual(r.stdout + r.stderr, "", "systemd-analyze verify printed something")
        let security = try runToCompletion(try tool("systemd-analyze"), ["security", "--offline=true", "--threshold=45", copy.path], timeout: 60)
        let overall = security.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? "?"
        print("*** systemd-analyze security: \(overall) ***")
        XCTAssertEqual(security.status, 0, "the unit's exposure rose above 4.5 (4.2 with CAP_KILL and CAP_DAC_OVERRIDE): \(overall)")
    }

    func testTheUnitIsHardenedForThePathsJoinWrites() throws {
        let lines = try String(contentsOfFile: Self.unit, encoding: .utf8).split(separator: "\n").map(String.init)
        func value(_ key: String) -> String? { lines.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) } }
        XCTAssertEqual(value("ProtectSystem"), "strict")
        XCTAssertEqual(value("NoNewPrivileges"), "yes")
        XCTAssertEqual(value("Restart"), "on-failure")
        XCTAssertEqual(value("CapabilityBoundingSet"), "CAP_NET_RAW CAP_SYS_PTRACE CAP_KILL CAP_DAC_OVERRIDE")
        XCTAssertEqual(value("ExecStart"), "/usr/local/bin/bgpmesh-agent run --config.file /etc/bgpmesh/agent.yml")
        // Every place the agent writes, at join's defaults, is writable under ProtectSystem=strict.
        let spec = try JoinRequest(name: "n", etcdEndpoints: ["http://192.0.2.1:2379"], underlay: "192.0.2.1",
                                   overlays: ["198.51.100.1/24"]).validated()
        XCTAssertEqual(spec.configFile, "/etc/bgpmesh/agent.yml")
        let writable = (value("ReadWritePaths") ?? "").split(separator: " ").map { $0.hasPrefix("-") ? String($0.dropFirst()) : String($0) }
            + ["/var/lib/" + (value("StateDirectory") ?? "?")]
        for path in [spec.tincDir + "/hosts/x", spec.birdPeersFile, spec.birdSocket, spec.stateDir + "/pins.json"] {
            XCTAssertTrue(writable.contains { path.hasPrefix($0 + "/") }, "\(path) is not under ReadWritePaths \(writable)")
        }
    }

    func testTheAnsibleRolePassesAnsibleLint() throws {
        let lint = try tool("ansible-lint")
        let dir = Self.repo.appendingPathComponent("deploy/ansible").path
        let r = try runToCompletion("/bin/sh", ["-c", "cd \"$0\" && exec \"$1\" --offline", dir, lint], timeout: 300)
        XCTAssertEqual(r.status, 0, "ansible-lint: \(r.stdout)\(r.stderr)")
        let syntax = try runToCompletion("/bin/sh", ["-c", "cd \"$0\" && exec ansible-playbook --syntax-check -i inventory.example playbook.yml", dir],
                                         timeout: 120)
        XCTAssertEqual(syntax.status, 0, "ansible-playbook --syntax-check: \(syntax.stdout)\(syntax.stderr)")
    }
}
