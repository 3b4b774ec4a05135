import Foundation
import Glibc
@testable import MeshAgent
import TestSupport
import XCTest

/// A real Alertmanager 0.25 on loopback delivers to the API on the real HTTP server: its
/// bearer token (credentials_file), its payload and its resolve reach the repair service.
final class AlertmanagerWebhookTests: XCTestCase {
    static let alertmanager = "/usr/bin/prometheus-alertmanager"
    var api: APITestServer!
    var dir: String!
    var pid: pid_t = 0
    var amPort = 0

    override func setUp() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.alertmanager) else {
            throw XCTSkip("SKIPPED LOUDLY: \(Self.alertmanager) is not installed (scripts/install-deps.sh installs it)")
        }
        api = try APITestServer(nodeName: "node1")
        dir = NSTemporaryDirectory() + "bgpmesh-am-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (APITestServer.token + "\n").write(toFile: dir + "/token", atomically: false, encoding: .utf8)
        chmod(dir + "/token", 0o600)
        // Not the lab's forwarded 19090/19093, nor etcd's 23791...23990.
        guard let port = (29100..<29190).first(where: { PortAllocator.isFree($0) }) else { throw AgentTestError("no free port in 29100..<29190 for Alertmanager") }
        amPort = port
        try """
        route:
          receiver: agent
          group_by: [alertname]
          group_wait: 100ms
          group_interval: 500ms
          repeat_interval: 1h
        receivers:
          - name: agent
            webhook_configs:
              - url: http://127.0.0.1:\(api.port)\(APIRoutes.alertsPath)
                send_resolved: true
                http_config:
                  authorization:
                    credentials_file: \(dir!)/token
        """.write(toFile: dir + "/am.yml", atomically: false, encoding: .utf8)
        pid = try Spawn.run([Self.alertmanager, "--config.file", dir + "/am.yml", "--storage.path", dir + "/data",
                             "--web.listen-address", "127.0.0.1:\(port)", "--cluster.listen-address", ""],
                            output: dir + "/am.log", wait: false)
        let deadline = ContinuousClock.now + .seconds(15)
        while (try? RawHTTPClient.request(port: UInt16(port), path: "/-/ready"))?.status != 200 {
            guard ContinuousClock.now < deadline else { throw AgentTestError("Alertmanager not ready: \(log())") }
            try await Task.sleep(for: .milliseconds(100))
        }
        // The port was free a moment ago; make sure the Alertmanager that answered is ours.
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == 0 else {
            pid = 0
            throw AgentTestError("our Alertmanager exited (another took port \(port)?): \(log())")
        }
    }

    override func tearDown() async throws {
        if pid > 0 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
        await api?.stop()
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func log() -> String { (try? String(contentsOfFile: dir + "/am.log", encoding: .utf8)) ?? "" }

    func postAlert(node: String, peer: String, startsAt: String, endsAt: String? = nil) throws {
        let ends = endsAt.map { #","endsAt":"\#($0)""# } ?? ""
        let body = #"[{"labels":{"alertname":"TincPeerUnreachable","node":"\#(node)","peer":"\#(peer)"},"startsAt":"\#(startsAt)"\#(ends)}]"#
        let r = try RawHTTPClient.request(port: UInt16(amPort), method: "POST", path: "/api/v2/alerts",
                                          headers: ["Content-Type": "application/json"], body: Array(body.utf8))
        XCTAssertEqual(r.status, 200, r.text)
    }

    /// Polls until `condition` holds, for up to 10 s.
    func eventually(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () async -> Bool) async throws {
        await waitUntil("\(what); Alertmanager log:\n\(log())", poll: .milliseconds(50), file: file, line: line, condition)
    }

    func testFiringThenResolvedThroughARealAlertmanager() async throws {
        let service = api.service
        try postAlert(node: "node1", peer: "node2", startsAt: "2026-11-30T10:00:00Z")
        try postAlert(node: "node2", peer: "node1", startsAt: "2026-11-30T10:00:00Z")
        try await eventually("the submit") { await service.submitted.count == 1 }
        try await eventually("both alerts counted") {
            api.metrics.count(status: .firing, action: .queued) == 1 && api.metrics.count(status: .firing, action: .otherNode) == 1
        }
        let submitted = await service.submitted
        XCTAssertEqual(submitted.count, 1)
        let request = try XCTUnwrap(submitted.first)
        XCTAssertEqual(request.trigger, .webhook)
        XCTAssertEqual(request.kind, "TincPeerUnreachable")
        XCTAssertEqual(request.target, "node2")
        let key = try XCTUnwrap(request.alertKey)
        XCTAssertTrue(key.hasSuffix("@2026-11-30T10:00:00Z"), key)
        XCTAssertEqual(key.count, 16 + 1 + 20, "16 hex digits of fingerprint: \(key)")

        try postAlert(node: "node1", peer: "node2", startsAt: "2026-11-30T10:00:00Z", endsAt: "2026-11-30T10:00:05Z")
        try await eventually("the cancel") { await service.cancelled.count == 1 }
        let cancelled = await service.cancelled
        XCTAssertEqual(cancelled, [key])
        let after = await service.submitted
        XCTAssertEqual(after.count, 1, "the resolve submits nothing")
    }
}
