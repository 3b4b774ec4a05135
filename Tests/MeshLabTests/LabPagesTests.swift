import Foundation
import XCTest
@testable import MeshLab

/// Issue 18's acceptance in small: one real fault in the lab, and what the alert sink (standing in
/// for the humans) and the agents' webhook got for it, through the repo's rules and routes.
final class LabPagesTests: XCTestCase {
    /// tincd killed on node3 and kept down: exactly one notification reaches the humans and names
    /// tincd on node3; the agents' webhook gets the alert it can repair.
    func testKillTincdPagesOnceNamingTheCause() throws {
        try LabHarness.requireLabEnvironment()
        let agentArgs = try LabHarness.agentArguments()
        guard !agentArgs.contains("--no-agents") else { throw LabHarness.agentsAbsent("pages") }
        let dir = LabHarness.newStateDir()
        defer { _ = try? LabHarness.lab(["down"], stateDir: dir, timeout: 120) }
        let started = Date()
        try LabHarness.labOK(["up", "--nodes", "3", "--keys", "agent"] + agentArgs, stateDir: dir, timeout: 180)
        try LabHarness.labOK(["wait", "converged", "--timeout", "120", "--quiet"], stateDir: dir, timeout: 150)
        let json = "\(dir)/pages.json"
        // MeshDaemonDown's `for` is 1m and the humans' group_wait 30 s: a 120 s hold lets it page;
        // the hold ends early once nothing pending could still page within it.
        let r = try LabHarness.lab(["pages", "--faults", "kill-tincd", "--node", "node3", "--hold", "120s", "--min-hold", "60s",
                                    "--settle", "45s", "--quiet", "0s", "--json", json], stateDir: dir, timeout: 420)
        print(r.stdout)
        XCTAssertEqual(r.status, 0, "bgpmesh-lab pages: \(r.stderr)")
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let report = try dec.decode(PagesReport.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        let step = try XCTUnwrap(report.steps.first)
        XCTAssertNil(step.error)
        XCTAssertEqual(step.human_notifications, 1, "pages to humans for kill-tincd node3: \(step.pages)")
        XCTAssertTrue(step.root_cause_named, "the page names tincd down on node3: \(step.pages)")
        XCTAssertTrue(step.webhook_alerts.contains { PagesFault.killTincd.rootCauseAlerts.contains($0) },
                      "the agents' webhook got the repairable alert: \(step.webhook_alerts)")
        XCTAssertEqual(step.webhook_by_node.keys.sorted(), ["node3"], "only node3's agent is called: \(step.webhook_by_node)")
        XCTAssertTrue(step.repair_storm_healthy_nodes.isEmpty, "RepairStorm on healthy nodes: \(step.repair_storm_healthy_nodes)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: NodeSpec(index: 3, stateDir: dir).restartHold(.tincd)), "the hold is gone")
        print(String(format: "*** LabPagesTests: kill-tincd node3: %d human notification(s) %@, first after %.0f s; webhook %d %@; held %.0f s; %.0f s in all ***",
                     step.human_notifications, step.human_alerts.joined(separator: ","), step.pages.first?.after ?? -1,
                     step.webhook_deliveries, step.webhook_alerts.joined(separator: ","), step.held, Date().timeIntervalSince(started)))
    }
}
