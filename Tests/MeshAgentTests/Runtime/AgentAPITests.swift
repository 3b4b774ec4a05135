import Foundation
import Glibc
import Logging
@testable import MeshAgent
import XCTest

/// The API as `Agent` wires it: the token file from the configuration, the node name from
/// tinc.conf, the webhook counters in /metrics; and the binary refusing a bad token file.
final class AgentAPITests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bgpmesh-agentapi-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: dir + "/tinc", withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func tokenFile(_ content: String, mode: mode_t) throws -> String {
        let path = dir + "/token-\(mode)"
        try content.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func testAgentServesTheAPIWithTheNodeNameFromTincConf() async throws {
        try "Name = node1\nMode = switch\n".write(toFile: dir + "/tinc/tinc.conf", atomically: true, encoding: .utf8)
        var configuration = AgentConfiguration()
        configuration.listenAddresses = ["127.0.0.1:0"]
        configuration.tincDir = dir + "/tinc"
        configuration.webhookTokenFile = try tokenFile(APITestServer.token + "\n", mode: 0o600)
        try Agent.validate(configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = RecordingRepairService()
        let agent = Agent(configuration: configuration, logger: logger, collectors: [], repairService: service)
        try agent.start()
        let address = try XCTUnwrap(agent.boundAddresses.first)
        let port = try XCTUnwrap(UInt16(address.split(separator: ":").last!))

        let r = try RawHTTPClient.request(port: port, method: "POST", path: APIRoutes.alertsPath, headers: APITestServer.bearer,
                                          body: try Fixture.alertmanagerPayload("firing-BGPSessionDown-node1-node2"))
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue(r.text.contains(#""node":"node1""#), r.text)
        let submitted = await service.submitted
        XCTAssertEqual(submitted.map(\.target), ["node2"], "node1's alert only")
        XCTAssertEqual(try RawHTTPClient.request(port: port, method: "POST", path: APIRoutes.repairPath, body: Array("{}".utf8)).status, 401)
        XCTAssertEqual(try RawHTTPClient.request(port: port, path: APIRoutes.statusPath).status, 200)

        let metrics = try RawHTTPClient.request(port: port, path: "/metrics").text
        XCTAssertTrue(metrics.contains(#"bgpmesh_webhook_alerts_total{action="queued",status="firing"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"bgpmesh_webhook_alerts_total{action="other_node",status="firing"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"bgpmesh_http_requests_total{code="401",handler="/api/v1/repair"} 1"#), metrics)
        XCTAssertTrue(try RawHTTPClient.request(port: port, path: "/").text.contains("/api/v1/status"))
        await agent.shutdown(gracePeriod: .seconds(1))
    }

    /// Without a repair service (the default), none of it is served.
    func testWithoutARepairServiceTheAPIIsAbsent() async throws {
        var configuration = AgentConfiguration()
        configuration.listenAddresses = ["127.0.0.1:0"]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let agent = Agent(configuration: configuration, logger: logger, collectors: [])
        try agent.start()
        let port = try XCTUnwrap(UInt16(agent.boundAddresses.first!.split(separator: ":").last!))
        XCTAssertEqual(try RawHTTPClient.request(port: port, path: APIRoutes.statusPath).status, 404)
        XCTAssertFalse(try RawHTTPClient.request(port: port, path: "/metrics").text.contains("bgpmesh_webhook_alerts_total"))
        await agent.shutdown(gracePeriod: .seconds(1))
    }

    func testTheBinaryRefusesABadTokenFileAtStart() throws {
        let open = try tokenFile("tok\n", mode: 0o644)
        let r = try AgentProcess.run(["run", "--web.listen-address", "127.0.0.1:0", "--web.webhook-token-file", open] + AgentProcess.hermetic)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "bgpmesh-agent: error: invalid configuration: web.webhook-token-file \(open): mode 644 lets group or others access the token; chmod 600 it\n")
        let empty = try tokenFile("\n", mode: 0o600)
        let e = try AgentProcess.run(["run", "--web.listen-address", "127.0.0.1:0", "--web.webhook-token-file", empty] + AgentProcess.hermetic)
        XCTAssertEqual(e.status, 1)
        XCTAssertEqual(e.stderr, "bgpmesh-agent: error: invalid configuration: web.webhook-token-file \(empty): empty; it must hold the bearer token\n")
    }
}
