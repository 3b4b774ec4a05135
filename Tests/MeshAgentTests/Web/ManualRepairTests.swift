import Foundation
import HTTPServer
import Logging
@testable import MeshAgent
import XCTest

/// POST /api/v1/repair against the real repair loop: refused with repair.mode=off unless forced
/// (then carried out, logged and counted with trigger="forced"), and held to the rate limit.
final class ManualRepairTests: XCTestCase {
    var server: HTTPServer!
    var port: UInt16 = 0
    var controller: RepairController!
    static let token = "test-token-0123456789abcdef"

    func start(mode: RepairMode, maxActions: Int = 10) throws {
        var settings = RepairController.Settings()
        settings.mode = mode
        settings.policy.maxActions = maxActions
        var logger = Logger(label: "manual-repair-test")
        logger.logLevel = .critical
        // No clients: every action fails with a reason, which is enough to see it carried out.
        controller = RepairController(settings: settings, sources: MeshStateSources(),
                                      executor: RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: nil), logger: logger)
        var router = HTTPRouter()
        APIRoutes.register(into: &router, service: controller, nodeName: { "node1" }, token: try WebhookToken(Self.token),
                           metrics: WebhookMetrics(), logger: logger)
        server = HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: ["127.0.0.1:0"]), logger: logger, handler: router.handler)
        try server.start()
        let address = try XCTUnwrap(server.boundAddresses.first)
        port = try XCTUnwrap(UInt16(address[address.index(after: address.lastIndex(of: ":")!)...]))
    }

    override func tearDown() async throws {
        await server?.shutdown(gracePeriod: .seconds(1))
    }

    func post(_ body: String) throws -> (status: Int, json: [String: Any]) {
        let r = try RawHTTPClient.request(port: port, method: "POST", path: APIRoutes.repairPath,
                                          headers: ["Authorization": "Bearer \(Self.token)", "Content-Type": "application/json"],
                                          body: Array(body.utf8))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json)
    }

    func repairs(trigger: String) -> Double {
        controller.metrics.values.withLock { v in
            v.repairs.filter { $0.key.trigger == trigger }.values.reduce(0) { $0 + Double($1) }
        }
    }

    func recentActions() async throws -> [[String: Any]] {
        let body = await controller.statusJSON()
        let status = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try XCTUnwrap(status["recent_actions"] as? [[String: Any]], "\(status)")
    }

    func testModeOffRefusesAManualRepairWithAClearJSONError() async throws {
        try start(mode: .off)
        let refused = try post(#"{"action":"tinc-retry"}"#)
        XCTAssertEqual(refused.status, 409)
        XCTAssertEqual(refused.json["result"] as? String, "refused")
        let reason = try XCTUnwrap(refused.json["reason"] as? String)
        XCTAssertTrue(reason.contains("repair.mode is off") && reason.contains("force"), reason)
        await controller.tick()
        let entries = try await recentActions()
        XCTAssertEqual(entries.count, 0, "nothing was carried out: \(entries)")
        XCTAssertEqual(controller.metrics.values.withLock { $0.skipped[.off] }, 1)
    }

    func testForceCarriesItOutWithModeOffAndCountsIt() async throws {
        try start(mode: .off)
        let forced = try post(#"{"action":"tinc-retry","force":true}"#)
        XCTAssertEqual(forced.status, 202)
        XCTAssertEqual(forced.json["result"] as? String, "queued")
        XCTAssertEqual(forced.json["force"] as? Bool, true)
        await controller.tick()
        XCTAssertEqual(repairs(trigger: "forced"), 1, "a forced repair is counted with trigger=forced")
        XCTAssertEqual(repairs(trigger: "manual"), 0)
        let entries = try await recentActions()
        XCTAssertEqual(entries.count, 1, "\(entries)")
        XCTAssertEqual(entries.first?["trigger"] as? String, "forced")
        XCTAssertEqual(entries.first?["action"] as? String, "tinc_retry")
    }

    func testManualRepairsGoThroughTheRateLimit() async throws {
        try start(mode: .on, maxActions: 2)
        XCTAssertEqual(try post(#"{"action":"tinc-retry"}"#).status, 202)
        XCTAssertEqual(try post(#"{"action":"tinc-reload"}"#).status, 202)
        let third = try post(#"{"action":"restart-tincd"}"#)
        XCTAssertEqual(third.status, 429)
        XCTAssertEqual(third.json["result"] as? String, "refused")
        XCTAssertTrue((third.json["reason"] as? String ?? "").contains("rate limit"), "\(third.json)")
        // Force does not lift the rate limit.
        XCTAssertEqual(try post(#"{"action":"restart-tincd","force":true}"#).status, 429)
        await controller.tick()
        XCTAssertEqual(repairs(trigger: "manual"), 2)
        XCTAssertEqual(try post(#"{"action":"tinc-retry"}"#).status, 429, "the two carried out fill the window")
        XCTAssertEqual(controller.metrics.values.withLock { $0.skipped[.rateLimited] }, 3)
    }
}
