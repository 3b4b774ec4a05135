import Foundation
import XCTest
@testable import MeshLab

/// The alert sink as a process (the built `bgpmesh-lab sink` on loopback), its file, and which
/// fault a delivery is counted for.
final class AlertSinkTests: XCTestCase {
    /// One line of a lab's sink.jsonl, captured in LabPagesTests' run: Alertmanager 0.25's webhook
    /// body to the humans' receiver for `kill-tincd node3`, as the sink wrote it.
    static let capturedLine = #"{"path":"\/receiver\/humans","payload":{"alerts":[{"annotations":{"description":"The agent on node3 has found tincd not running or not answering (bird_up, tinc_up, bgpmesh_health_problems) for 1 minute.","runbook_url":"https:\/\/github.com\/bgpmesh\/bgpmesh-agent\/blob\/main\/docs\/runbook.md#meshdaemondown","summary":"tincd is down on node3"},"endsAt":"0001-01-01T00:00:00Z","fingerprint":"8793c3bc77d30d42","generatorURL":"http:\/\/vm:19090\/graph?g0.expr=label_replace%28max+by+%28job%2C+instance%2C+node%2C+daemon%29+%28label_replace%28bird_up+%3D%3D+0%2C+%22daemon%22%2C+%22bird%22%2C+%22%22%2C+%22%22%29+or+label_replace%28tinc_up+%3D%3D+0%2C+%22daemon%22%2C+%22tincd%22%2C+%22%22%2C+%22%22%29+or+label_replace%28bgpmesh_health_problems%7Bkind%3D%22bird_hung%22%7D+%3D%3D+1%2C+%22daemon%22%2C+%22bird%22%2C+%22%22%2C+%22%22%29+or+label_replace%28bgpmesh_health_problems%7Bkind%3D%22tincd_hung%22%7D+%3D%3D+1%2C+%22daemon%22%2C+%22tincd%22%2C+%22%22%2C+%22%22%29%29%2C+%22peer%22%2C+%22%241%22%2C+%22node%22%2C+%22%28.%2B%29%22%29&g0.tab=1","labels":{"alertname":"MeshDaemonDown","component":"mesh","daemon":"tincd","instance":"192.0.2.3:10179","job":"bgpmesh-agent","mesh":"bgpmesh","node":"node3","peer":"node3","repairable":"true","severity":"critical"},"startsAt":"2026-12-06T13:53:56.977Z","status":"firing"}],"commonAnnotations":{"description":"The agent on node3 has found tincd not running or not answering (bird_up, tinc_up, bgpmesh_health_problems) for 1 minute.","runbook_url":"https:\/\/github.com\/bgpmesh\/bgpmesh-agent\/blob\/main\/docs\/runbook.md#meshdaemondown","summary":"tincd is down on node3"},"commonLabels":{"alertname":"MeshDaemonDown","component":"mesh","daemon":"tincd","instance":"192.0.2.3:10179","job":"bgpmesh-agent","mesh":"bgpmesh","node":"node3","peer":"node3","repairable":"true","severity":"critical"},"externalURL":"http:\/\/vm:19093","groupKey":"{}\/{severity=\"critical\"}:{alertname=\"MeshDaemonDown\"}","groupLabels":{"alertname":"MeshDaemonDown"},"receiver":"humans","status":"firing","truncatedAlerts":0,"version":"4"},"received_at":1796565267.000272}"#

    func testParsesALineOfTheSinksFile() throws {
        let d = try XCTUnwrap(SinkDelivery.parse(Self.capturedLine))
        XCTAssertEqual(d.target, .receiver("humans"))
        XCTAssertEqual(d.status, "firing")
        XCTAssertEqual(d.firingNames, ["MeshDaemonDown"])
        XCTAssertEqual(d.alerts.first?.labels["node"], "node3")
        let start = try XCTUnwrap(d.alerts.first?.startsAt)
        XCTAssertEqual(start.timeIntervalSince1970, 1_796_565_236.977, accuracy: 0.0005)
        XCTAssertEqual(d.receivedAt.timeIntervalSince1970, 1_796_565_267.000272)
        XCTAssertNil(SinkDelivery.parse(#"{"path":"/elsewhere","payload":{},"received_at":1}"#))
        XCTAssertNil(SinkDelivery.parse(String(Self.capturedLine.prefix(80))), "a partial last line is skipped")
    }

    func testParsesGoTimes() {
        XCTAssertEqual(SinkDelivery.parseTime("1970-01-01T00:01:00Z")?.timeIntervalSince1970, 60)
        XCTAssertEqual(SinkDelivery.parseTime("1970-01-01T01:01:00.5+01:00")?.timeIntervalSince1970, 60.5)
        XCTAssertEqual(SinkDelivery.parseTime("1970-01-01T00:00:00-00:30")?.timeIntervalSince1970, 1800)
        XCTAssertNil(SinkDelivery.parseTime("1970-01-01 00:00:00"))
        XCTAssertNil(SinkDelivery.parseTime("yesterday"))
    }

    func delivery(_ target: SinkDelivery.Target, _ status: String, _ alerts: [(String, String, Double, [String: String])],
                  at: Double) -> SinkDelivery {
        SinkDelivery(receivedAt: Date(timeIntervalSince1970: at), target: target, status: status,
                     alerts: alerts.map { .init(name: $0.0, status: $0.1, labels: $0.3.merging(["alertname": $0.0]) { a, _ in a },
                                                startsAt: Date(timeIntervalSince1970: $0.2)) })
    }

    /// A notification counts for the fault its alerts started in, whenever it arrives; resolved ones
    /// and Watchdog are no pages; one page naming the faulty node's root cause is the goal.
    func testAttributesDeliveriesByTheirAlertsStart() {
        let from = Date(timeIntervalSince1970: 1000), next = Date(timeIntervalSince1970: 1300)
        let node3 = ["node": "node3"]
        let all = [
            delivery(.receiver("humans"), "firing", [("MeshPeerUnreachable", "firing", 900, ["node": "node1"])], at: 1010),  // the fault before
            delivery(.receiver("humans"), "firing", [("MeshDaemonDown", "firing", 1012, node3)], at: 1100),
            delivery(.receiver("humans"), "resolved", [("MeshDaemonDown", "resolved", 1012, node3)], at: 1250),
            delivery(.receiver("deadmans-switch"), "firing", [("Watchdog", "firing", 1100, [:])], at: 1101),
            delivery(.agent("node3"), "firing", [("MeshDaemonDown", "firing", 1012, node3)], at: 1080),
            delivery(.agent("node3"), "resolved", [("MeshDaemonDown", "resolved", 1012, node3)], at: 1240),
            delivery(.receiver("humans"), "firing", [("AgentDown", "firing", 1310, node3)], at: 1290),  // the next fault's
            // The next fault's page, in a group that still holds this fault's resolved alert: the next fault's.
            delivery(.receiver("humans"), "firing", [("MeshDaemonDown", "resolved", 1012, node3), ("MeshDaemonDown", "firing", 1320, ["node": "node2"])], at: 1400),
        ]
        var step = PagesStep(fault: "kill-tincd", label: "kill-tincd node3")
        PagesAttribution.fill(&step, deliveries: all, from: from, until: next, faultyNodes: ["node3"],
                              rootCause: PagesFault.killTincd.rootCauseAlerts)
        XCTAssertEqual(step.human_notifications, 1)
        XCTAssertEqual(step.human_alerts, ["MeshDaemonDown"])
        XCTAssertEqual(step.pages.first?.alerts, ["MeshDaemonDown{node=node3}"])
        XCTAssertEqual(step.pages.first?.after ?? 0, 100, accuracy: 0.01)
        XCTAssertEqual(step.webhook_deliveries, 2)
        XCTAssertEqual(step.webhook_by_node, ["node3": 2])
        XCTAssertEqual(step.webhook_alerts, ["MeshDaemonDown"])
        XCTAssertTrue(step.root_cause_named)

        // A second page, or one about another node, does not name the root cause.
        var two = step
        PagesAttribution.fill(&two, deliveries: all + [delivery(.receiver("humans"), "firing", [("TincMetaConnectionsLow", "firing", 1020, ["node": "node1"])], at: 1200)],
                              from: from, until: next, faultyNodes: ["node3"], rootCause: PagesFault.killTincd.rootCauseAlerts)
        XCTAssertEqual(two.human_notifications, 2)
        XCTAssertEqual(two.human_alerts, ["MeshDaemonDown", "TincMetaConnectionsLow"])
        XCTAssertFalse(two.root_cause_named)
        var elsewhere = step
        PagesAttribution.fill(&elsewhere, deliveries: all, from: from, until: next, faultyNodes: ["node2"],
                              rootCause: PagesFault.killTincd.rootCauseAlerts)
        XCTAssertFalse(elsewhere.root_cause_named)
    }

    func testParsesTheFaultList() throws {
        XCTAssertEqual(try PagesFault.parseList("all"), PagesFault.allCases)
        XCTAssertEqual(try PagesFault.parseList("kill-tincd, isolate,kill-tincd"), [.killTincd, .isolate])
        XCTAssertThrowsError(try PagesFault.parseList("kill-tincd,explode")) { e in XCTAssertTrue("\(e)".contains("explode")) }
        XCTAssertThrowsError(try PagesFault.parseList(" , "))
        XCTAssertEqual(PagesRunner.longestGroupWait("route:\n  group_wait: 30s\n  routes:\n    - group_wait: 5s # fast\n"), 30)
        XCTAssertNil(PagesRunner.longestGroupWait("route: {}\n"))
    }

    /// The built sink on loopback: POSTs recorded line by line, bad requests refused and not recorded.
    func testTheSinkRecordsWebhookPosts() throws {
        let bin = LabHarness.labBinary
        guard FileManager.default.isExecutableFile(atPath: bin) else { throw LabHarnessError("bgpmesh-lab was not built at \(bin)") }
        let dir = LabHarness.newStateDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/sink.jsonl"
        var proc: Process?
        var url = ""
        // A free port: try a few.
        for _ in 0..<5 {
            let port = Int.random(in: 30000..<60000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = ["sink", "--listen", "127.0.0.1:\(port)", "--output", out]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            url = "http://127.0.0.1:\(port)"
            if LabHarness.eventually(5, interval: 0.1, { (try? Command.run(["curl", "-sf", "\(url)/healthz"]))?.succeeded == true }) {
                proc = p
                break
            }
            p.terminate(); p.waitUntilExit()
        }
        let sink = try XCTUnwrap(proc, "the sink did not answer /healthz")
        defer { sink.terminate(); sink.waitUntilExit() }
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(Self.capturedLine.utf8)) as? [String: Any])["payload"]!
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        func post(_ path: String, _ data: String) throws -> String {
            try Command.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json",
                             "--data-binary", data, url + path]).stdout
        }
        XCTAssertEqual(try post("/receiver/humans", json), "200")
        XCTAssertEqual(try post("/agent/node3", json), "200")
        XCTAssertEqual(try post("/receiver/humans", "not json"), "400")
        XCTAssertEqual(try post("/elsewhere", json), "404")
        XCTAssertEqual(try Command.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(url)/receiver/humans"]).stdout, "405")
        let got = SinkDelivery.read(out)
        XCTAssertEqual(got.map(\.target), [.receiver("humans"), .agent("node3")])
        XCTAssertEqual(got.first?.firingNames, ["MeshDaemonDown"])
    }
}
