import Exposition
import Foundation
@testable import MeshAgent
import TestSupport
import XCTest

/// The API over the real HTTP server on loopback, fed the bodies Alertmanager 0.25 sent
/// (Fixtures/alertmanager), with a repair service that records what it is asked to do.
final class RepairAPITests: XCTestCase {
    var api: APITestServer!

    override func setUp() async throws {
        api = try APITestServer(nodeName: "node1")
    }

    override func tearDown() async throws {
        await api?.stop()
    }

    struct Summary: Decodable {
        struct Outcome: Decodable {
            var fingerprint: String
            var status: String
            var action: String
            var id: UInt64?
            var reason: String?
            var node: String?
        }
        var node: String?
        var alerts: [Outcome]
    }

    func summary(_ r: RawHTTPClient.Response, file: StaticString = #filePath, line: UInt = #line) throws -> Summary {
        XCTAssertEqual(r.status, 200, r.text, file: file, line: line)
        XCTAssertEqual(r.header("Content-Type"), "application/json", file: file, line: line)
        return try JSONDecoder().decode(Summary.self, from: Data(r.body))
    }

    func postAlerts(_ fixture: String) throws -> RawHTTPClient.Response {
        try api.post(APIRoutes.alertsPath, Fixture.alertmanagerPayload(fixture))
    }

    // MARK: refusals

    func testMissingOrWrongTokenIs401AndSubmitsNothing() async throws {
        let body = try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1")
        for (headers, challenge) in [([:], #"Bearer realm="bgpmesh-agent""#),
                                     (["Authorization": "Bearer wrong-token"], #"Bearer realm="bgpmesh-agent", error="invalid_token""#),
                                     (["Authorization": "Basic dGVzdDp0ZXN0"], #"Bearer realm="bgpmesh-agent""#),
                                     (["Authorization": "Bearer \(APITestServer.token)x"], #"Bearer realm="bgpmesh-agent", error="invalid_token""#)] {
            for path in [APIRoutes.alertsPath, APIRoutes.repairPath] {
                let r = try api.post(path, body, headers: headers)
                XCTAssertEqual(r.status, 401, "\(path) \(headers)")
                XCTAssertEqual(r.header("WWW-Authenticate"), challenge)
            }
        }
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted, [])
        // Counted once per refused webhook request (the body is not read); /api/v1/repair is not the webhook.
        XCTAssertEqual(api.metrics.unauthorizedCount, 4)
        let text = String(decoding: ExpositionEncoder.encode(api.metrics.families, format: .text004), as: UTF8.self)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="unauthorized",status="unknown"} 4"#), text)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="queued",status="firing"} 0"#), text)
    }

    func testWithoutATokenTheMutatingEndpointsAre503() async throws {
        let open = try APITestServer(nodeName: "node1", token: nil)
        for path in [APIRoutes.alertsPath, APIRoutes.repairPath] {
            for headers in [[:], ["Authorization": "Bearer "], APITestServer.bearer] {
                let r = try open.post(path, try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1"), headers: headers)
                XCTAssertEqual(r.status, 503, path)
                XCTAssertTrue(r.text.hasPrefix("no token configured"), r.text)
            }
        }
        let submitted = await open.service.submitted
        XCTAssertEqual(submitted, [])
        XCTAssertEqual(try RawHTTPClient.request(port: open.port, path: APIRoutes.statusPath).status, 200, "status needs no token")
        await open.stop()
    }

    func testMalformedPayloadIs400WithTheReason() async throws {
        let garbage = try api.post(APIRoutes.alertsPath, Array("{\"version\": \"4\", ".utf8))
        XCTAssertEqual(garbage.status, 400)
        XCTAssertTrue(garbage.text.hasPrefix("the body is not a JSON object: "), garbage.text)
        let v3 = String(decoding: try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1"), as: UTF8.self)
            .replacingOccurrences(of: #""version":"4""#, with: #""version":"3""#)
        let r = try api.post(APIRoutes.alertsPath, Array(v3.utf8))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, "unsupported webhook payload version \"3\" (this agent reads version \"4\")\n")
        let noAlerts = try api.post(APIRoutes.alertsPath, Array(#"{"version":"4","status":"firing","alerts":{}}"#.utf8))
        XCTAssertEqual(noAlerts.status, 400)
        XCTAssertEqual(noAlerts.text, "invalid webhook payload: \"alerts\" is not an array\n")
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted, [])
    }

    /// The server takes up to 4 MiB here; the endpoint's own 1 MiB limit answers.
    func testOversizedBodyIs413() async throws {
        /// A valid payload (no alerts, an ignored pad field) of exactly `size` bytes.
        func payload(size: Int) -> [UInt8] {
            let head = Array(#"{"version":"4","status":"firing","alerts":[],"pad":""#.utf8), tail = Array(#""}"#.utf8)
            return head + [UInt8](repeating: UInt8(ascii: "x"), count: size - head.count - tail.count) + tail
        }
        let over = try api.post(APIRoutes.alertsPath, payload(size: (1 << 20) + 1))
        XCTAssertEqual(over.status, 413, over.text)
        let fits = try api.post(APIRoutes.alertsPath, payload(size: 1 << 20))
        XCTAssertEqual(fits.status, 200, "exactly 1 MiB is taken: \(fits.text)")
        XCTAssertEqual(try api.post(APIRoutes.repairPath, Array(repeating: 0x20, count: (16 << 10) + 1)).status, 413)
        // The server's own limit (web.max-request-body-bytes) still applies below the endpoint's.
        let small = try APITestServer(maxBodyBytes: 1000)
        XCTAssertEqual(try small.post(APIRoutes.alertsPath, payload(size: 1001)).status, 413)
        await small.stop()
    }

    // MARK: alerts

    func testFiringAlertOfThisNodeIsSubmittedOnce() async throws {
        let s = try summary(try postAlerts("firing-TincPeerUnreachable-node1"))
        XCTAssertEqual(s.node, "node1")
        XCTAssertEqual(s.alerts.map(\.action), ["queued"])
        XCTAssertEqual(s.alerts[0].id, 1)
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted, [RepairRequest(
            trigger: .webhook, kind: "TincPeerUnreachable", target: "node2", alertKey: "8ba2c631a6376e52@2026-11-30T10:00:00Z",
            labels: ["alertname": "TincPeerUnreachable", "node": "node1", "peer": "node2", "severity": "warning"])])
        XCTAssertEqual(api.metrics.count(status: .firing, action: .queued), 1)
    }

    func testAnotherNodesAlertIsNotSubmitted() async throws {
        let other = try APITestServer(nodeName: "node3")
        let s = try summary(try other.post(APIRoutes.alertsPath, try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1")))
        XCTAssertEqual(s.alerts.map(\.action), ["other_node"])
        let resolved = try summary(try other.post(APIRoutes.alertsPath, try Fixture.alertmanagerPayload("resolved-TincPeerUnreachable-node1")))
        XCTAssertEqual(resolved.alerts.map(\.action), ["other_node"])
        let (submitted, cancelled) = (await other.service.submitted, await other.service.cancelled)
        XCTAssertEqual(submitted, [])
        XCTAssertEqual(cancelled, [])
        XCTAssertEqual(other.metrics.count(status: .firing, action: .otherNode), 1)
        XCTAssertEqual(other.metrics.count(status: .resolved, action: .otherNode), 1)
        await other.stop()
    }

    /// Alertmanager re-sends (repeat_interval, HA peers): the captured repeat and two
    /// simultaneous copies of the first delivery add no second submit.
    func testDuplicateDeliverySubmitsOnce() async throws {
        let first = try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1")
        let port = api.port
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try RawHTTPClient.request(port: port, method: "POST", path: APIRoutes.alertsPath, headers: APITestServer.bearer,
                                              body: first).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(statuses, [200, 200])
        let repeatSummary = try summary(try postAlerts("firing-TincPeerUnreachable-node1-repeat"))
        XCTAssertEqual(repeatSummary.alerts.map(\.action), ["duplicate"])
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted.count, 1)
        XCTAssertEqual(api.metrics.count(status: .firing, action: .queued), 1)
        XCTAssertEqual(api.metrics.count(status: .firing, action: .duplicate), 2)
    }

    func testResolvedAlertCancelsTheQueuedWork() async throws {
        _ = try summary(try postAlerts("firing-TincPeerUnreachable-node1"))
        let s = try summary(try postAlerts("resolved-TincPeerUnreachable-node1"))
        XCTAssertEqual(s.alerts.map(\.action), ["cancelled"])
        let again = try summary(try postAlerts("resolved-TincPeerUnreachable-node1"))
        XCTAssertEqual(again.alerts.map(\.action), ["duplicate"])
        let (submitted, cancelled) = (await api.service.submitted, await api.service.cancelled)
        XCTAssertEqual(cancelled, [submitted[0].alertKey!], "cancel names the key the submit carried, once")
        // A late copy of the firing delivery after the resolve starts nothing.
        XCTAssertEqual(try summary(try postAlerts("firing-TincPeerUnreachable-node1")).alerts.map(\.action), ["duplicate"])
        let after = await api.service.submitted
        XCTAssertEqual(after.count, 1)
    }

    /// One group, two nodes' alerts: each node acts on its own; later node2's alert resolves.
    func testGroupWithTwoNodes() async throws {
        let node2 = try APITestServer(nodeName: "node2")
        let s1 = try summary(try postAlerts("firing-BGPSessionDown-node1-node2"))
        XCTAssertEqual(s1.alerts.map(\.action), ["queued", "other_node"])
        let s2 = try summary(try node2.post(APIRoutes.alertsPath, try Fixture.alertmanagerPayload("firing-BGPSessionDown-node1-node2")))
        XCTAssertEqual(s2.alerts.map(\.action), ["other_node", "queued"])
        let n1 = await api.service.submitted
        let n2 = await node2.service.submitted
        XCTAssertEqual(n1.map(\.target), ["node2"], "the session label is the target")
        XCTAssertEqual(n2.map(\.target), ["node1"])
        XCTAssertEqual(n1.map(\.kind), ["BGPSessionDown"])

        let p1 = try summary(try postAlerts("firing-BGPSessionDown-node1-node2-resolved"))
        XCTAssertEqual(p1.alerts.map(\.action), ["duplicate", "other_node"])
        let p2 = try summary(try node2.post(APIRoutes.alertsPath, try Fixture.alertmanagerPayload("firing-BGPSessionDown-node1-node2-resolved")))
        XCTAssertEqual(p2.alerts.map(\.action), ["other_node", "cancelled"])
        let c1 = await api.service.cancelled
        let c2 = await node2.service.cancelled
        XCTAssertEqual(c1, [])
        XCTAssertEqual(c2, [n2[0].alertKey!])
        await node2.stop()
    }

    /// A declined repair is still a 200: a 5xx would make Alertmanager re-send.
    func testSkippedSubmissionIsStill200() async throws {
        await api.service.skip(with: "repair mode is off")
        let s = try summary(try postAlerts("firing-TincPeerUnreachable-node1"))
        XCTAssertEqual(s.alerts.map(\.action), ["skipped"])
        XCTAssertEqual(s.alerts[0].reason, "repair mode is off")
        XCTAssertEqual(api.metrics.count(status: .firing, action: .skipped), 1)
    }

    func testUnknownOwnNameSkipsAndDoesNotRemember() async throws {
        let unnamed = try APITestServer(nodeName: nil)
        let s = try summary(try unnamed.post(APIRoutes.alertsPath, try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1")))
        XCTAssertEqual(s.alerts.map(\.action), ["skipped"])
        XCTAssertNil(s.node)
        let submitted = await unnamed.service.submitted
        XCTAssertEqual(submitted, [])
        await unnamed.stop()
    }

    func testAlertsWithoutNodeOrWithHostileTargetAreInvalid() async throws {
        let body = #"""
        {"version":"4","status":"firing","alerts":[
          {"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-11-30T10:00:00Z","fingerprint":"0000000000000001"},
          {"status":"firing","labels":{"alertname":"X","node":"node1","peer":"../../etc"},"startsAt":"2026-11-30T10:00:00Z","fingerprint":"0000000000000002"},
          {"status":"firing","labels":{"alertname":"X","node":"node1"},"startsAt":"","fingerprint":"0000000000000003"},
          {"status":"firing","labels":{"node":"node1"},"startsAt":"2026-11-30T10:00:00Z","fingerprint":"0000000000000004"},
          {"status":"firing","labels":{"alertname":"X","node":"node1","name":"bgp_node2"},"startsAt":"2026-11-30T10:00:00Z","fingerprint":"0000000000000005"}
        ]}
        """#
        let s = try summary(try api.post(APIRoutes.alertsPath, Array(body.utf8)))
        XCTAssertEqual(s.alerts.map(\.action), ["invalid", "invalid", "invalid", "invalid", "queued"])
        XCTAssertEqual(s.alerts.compactMap(\.reason), ["no node label", "target \"../../etc\" is not a tinc node or BIRD protocol name",
                                                       "no fingerprint or startsAt", "no alertname label"])
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted.map(\.target), ["bgp_node2"])
        XCTAssertEqual(api.metrics.count(status: .firing, action: .invalid), 4)
    }

    // MARK: manual repair and status

    struct Manual: Decodable, Equatable {
        var action: String
        var target: String?
        var result: String
        var id: UInt64?
        var reason: String?
    }

    func testManualRepair() async throws {
        let r = try api.post(APIRoutes.repairPath, Array(#"{"action":"bgp-restart","target":"node2"}"#.utf8))
        XCTAssertEqual(r.status, 202, r.text)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
        XCTAssertEqual(try JSONDecoder().decode(Manual.self, from: Data(r.body)),
                       Manual(action: "bgp-restart", target: "node2", result: "queued", id: 1))
        let empty = try api.post(APIRoutes.repairPath, [])
        XCTAssertEqual(empty.status, 202, empty.text)
        XCTAssertEqual(try JSONDecoder().decode(Manual.self, from: Data(empty.body)).action, "auto")
        await api.service.skip(with: "cooldown")
        let skipped = try api.post(APIRoutes.repairPath, Array(#"{"action":"tinc-retry"}"#.utf8))
        XCTAssertEqual(skipped.status, 202)
        XCTAssertEqual(try JSONDecoder().decode(Manual.self, from: Data(skipped.body)),
                       Manual(action: "tinc-retry", result: "skipped", reason: "cooldown"))
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted, [RepairRequest(trigger: .manual, kind: "bgp-restart", target: "node2"),
                                   RepairRequest(trigger: .manual, kind: "auto"),
                                   RepairRequest(trigger: .manual, kind: "tinc-retry")])
    }

    func testManualRepairRefusals() async throws {
        let cases: [(String, String)] = [
            ("not json", "the body is not JSON: "),
            ("[]", "the body must be a JSON object"),
            (#"{"action":"reboot"}"#, #"unknown action "reboot"; known: auto, reinstall-host-keys, connectto, tinc-retry, tinc-reload, restart-tincd, restart-bird, bgp-restart"#),
            (#"{"action":1}"#, #""action" must be a string"#),
            (#"{"action":true}"#, #""action" must be a string"#),
            (#"{"force":"yes"}"#, #""force" must be true or false"#),
            (#"{"target":"node2; rm -rf /"}"#, #"target "node2; rm -rf /" is not a tinc node or BIRD protocol name"#),
            (#"{"acton":"auto"}"#, #"unknown field "acton""#),
        ]
        for (body, reason) in cases {
            let r = try api.post(APIRoutes.repairPath, Array(body.utf8))
            XCTAssertEqual(r.status, 400, body)
            XCTAssertTrue(r.text.hasPrefix(reason), "\(body): \(r.text)")
        }
        let submitted = await api.service.submitted
        XCTAssertEqual(submitted, [])
    }

    func testStatusIsTheServicesJSONWithoutAToken() async throws {
        let r = try RawHTTPClient.request(port: api.port, path: APIRoutes.statusPath)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
        let expected = await api.service.statusJSON()
        XCTAssertEqual(r.body, expected)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        XCTAssertEqual(try RawHTTPClient.request(port: api.port, method: "POST", path: APIRoutes.statusPath).status, 405)
        XCTAssertEqual(try RawHTTPClient.request(port: api.port, path: APIRoutes.alertsPath).status, 405)
    }

    func testMetricsFamilyIsValidExposition() throws {
        _ = try summary(try postAlerts("firing-BGPSessionDown-node1-node2"))
        let text = String(decoding: ExpositionEncoder.encode(api.metrics.families, format: .text004), as: UTF8.self)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="queued",status="firing"} 1"#), text)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="other_node",status="firing"} 1"#), text)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="cancelled",status="resolved"} 0"#), text)
        XCTAssertTrue(text.contains(#"bgpmesh_webhook_alerts_total{action="unauthorized",status="unknown"} 0"#), text)
        // Five firing, four resolved, one unauthorized: only the pairs that can happen.
        XCTAssertEqual(text.components(separatedBy: "\n").filter { $0.hasPrefix("bgpmesh_webhook_alerts_total{") }.count, 10)
        let check = try Promtool.check(Array(text.utf8))
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output, "")
    }
}
