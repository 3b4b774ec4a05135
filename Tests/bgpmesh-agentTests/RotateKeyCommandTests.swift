import Foundation
import Glibc
import MeshAgent
import TestSupport
import XCTest

/// `bgpmesh-agent rotate-key` against the built agent itself (`run`, with the registry on and
/// an etcd endpoint nothing answers on): the command reaches POST /api/v1/keys/rotate with the
/// token and prints why the agent refuses; /api/v1/status carries `key_rotation`.
final class RotateKeyCommandTests: XCTestCase {
    private var directory = ""
    private var pid: pid_t = 0

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: ScrapeOnceGoldenTests.agentBinary) else {
            throw ToolFailure(description: "bgpmesh-agent was not built at \(ScrapeOnceGoldenTests.agentBinary); run `swift build --build-tests`")
        }
        directory = NSTemporaryDirectory() + "bgpmesh-rotate-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/tinc/hosts", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try "Name = node1\n".write(toFile: directory + "/tinc/tinc.conf", atomically: true, encoding: .utf8)
        try "token-0123456789abcdef\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        chmod(directory + "/token", 0o600)
    }

    override func tearDownWithError() throws {
        if pid > 0 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func startAgent(_ extra: [String]) throws -> String {
        let port = Int.random(in: 42000...48000)
        pid = try Spawn.run([ScrapeOnceGoldenTests.agentBinary, "run", "--web.listen-address=127.0.0.1:\(port)",
                             "--web.webhook-token-file=\(directory)/token", "--etcd.endpoints=http://127.0.0.1:9",
                             "--mesh.overlay-prefixes=198.51.100.0/24", "--collector.tinc.dir=\(directory)/tinc",
                             "--state.dir=\(directory)/state", "--no-collector.bird", "--no-collector.probe",
                             "--log.level=error"] + extra, output: directory + "/agent.out", wait: false)
        let url = "http://127.0.0.1:\(port)"
        _ = waitUntil("the agent answers /healthz", timeout: .seconds(20), poll: .milliseconds(100)) {
            (try? LocalAPIClient.send("GET", url: url + "/healthz", token: nil, timeout: .seconds(1)))?.status == 200
        }
        return url
    }

    private func rotateKey(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runToCompletion(ScrapeOnceGoldenTests.agentBinary, ["rotate-key"] + arguments, timeout: 30)
    }

    func testWithoutARestartCommandTheAgentSaysWhatIsMissing() throws {
        let url = try startAgent([])
        let refused = try rotateKey(["--url", url, "--token-file", directory + "/token"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("HTTP 503") && refused.stderr.contains("repair.tincd-restart-command"), refused.stderr)
        let status = try LocalAPIClient.send("GET", url: url + "/api/v1/status", token: nil)
        XCTAssertTrue(status.body.contains("\"key_rotation\":{") && status.body.contains("\"phase\":\"idle\""), status.body)
    }

    func testAWrongTokenAndARegistryNotInSyncAreRefused() throws {
        let url = try startAgent(["--repair.tincd-restart-command=true"])
        try "wrong-token-0123456789\n".write(toFile: directory + "/wrong", atomically: true, encoding: .utf8)
        chmod(directory + "/wrong", 0o600)
        let wrong = try rotateKey(["--url", url, "--token-file", directory + "/wrong"])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("HTTP 401"), wrong.stderr)
        let notReady = try rotateKey(["--url", url, "--token-file", directory + "/token", "--wait"])
        XCTAssertEqual(notReady.status, 1)
        XCTAssertTrue(notReady.stderr.contains("HTTP 503") && notReady.stderr.contains("not in sync"), notReady.stderr)
        let noToken = try rotateKey(["--url", url])
        XCTAssertEqual(noToken.status, 1)
        XCTAssertTrue(noToken.stderr.contains("--token-file"), noToken.stderr)
    }
}
