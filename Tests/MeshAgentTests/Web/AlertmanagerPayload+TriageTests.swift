@testable import MeshAgent
import XCTest

/// Each alert of the captured Alertmanager 0.25 bodies, triaged as node1, node2 and a node whose
/// name is not known yet; then the alerts the triage refuses.
final class AlertTriageTests: XCTestCase {
    func alerts(_ fixture: String) throws -> [AlertmanagerPayload.Alert] {
        try AlertmanagerPayload.decode(Fixture.alertmanagerPayload(fixture)).alerts
    }

    func testCapturedAlerts() throws {
        let tinc = try XCTUnwrap(alerts("firing-TincPeerUnreachable-node1").first)
        XCTAssertEqual(tinc.triage(me: "node1"),
                       .repair(RepairRequest(trigger: .webhook, kind: "TincPeerUnreachable", target: "node2",
                                             alertKey: "8ba2c631a6376e52@2026-11-30T10:00:00Z", labels: tinc.labels)))
        XCTAssertEqual(tinc.triage(me: "node2"), .otherNode)
        XCTAssertEqual(tinc.triage(me: nil), .skipped("this node's name is not known yet (tinc.conf Name)"))

        let resolved = try XCTUnwrap(alerts("resolved-TincPeerUnreachable-node1").first)
        XCTAssertEqual(resolved.triage(me: "node1"), .cancel(alertKey: "8ba2c631a6376e52@2026-11-30T10:00:00Z"))
        XCTAssertEqual(resolved.triage(me: nil), .cancel(alertKey: "8ba2c631a6376e52@2026-11-30T10:00:00Z"))
        XCTAssertEqual(resolved.triage(me: "node2"), .otherNode)

        // One group, two nodes: each node takes its own alert; the BGP session is the target.
        let bgp = try alerts("firing-BGPSessionDown-node1-node2")
        XCTAssertEqual(bgp.map { $0.triage(me: "node1") }.map(\.requestTarget), ["node2", nil])
        XCTAssertEqual(bgp.map { $0.triage(me: "node2") }.map(\.requestTarget), [nil, "node1"])
    }

    func testRefusedAlerts() throws {
        let base = try XCTUnwrap(alerts("firing-TincPeerUnreachable-node1").first)
        func triage(_ change: (inout AlertmanagerPayload.Alert) -> Void) -> AlertTriage {
            var alert = base
            change(&alert)
            return alert.triage(me: "node1")
        }
        XCTAssertEqual(triage { $0.fingerprint = "" }, .invalid("no fingerprint or startsAt"))
        XCTAssertEqual(triage { $0.startsAt = "" }, .invalid("no fingerprint or startsAt"))
        XCTAssertEqual(triage { $0.labels["node"] = nil }, .invalid("no node label"))
        // Found by fuzz-alerts: the dedup key was unbounded (Fuzz/AlertmanagerPayload/regressions).
        let long = String(repeating: "H", count: AlertTriage.maxKeyPartBytes + 1)
        XCTAssertEqual(triage { $0.startsAt = long }, .invalid("fingerprint or startsAt longer than 64 bytes"))
        XCTAssertEqual(triage { $0.fingerprint = long; $0.status = .resolved }, .invalid("fingerprint or startsAt longer than 64 bytes"))
        let longest = String(repeating: "f", count: AlertTriage.maxKeyPartBytes)
        XCTAssertEqual(triage { $0.fingerprint = longest }.requestTarget, "node2")
        XCTAssertEqual(triage { $0.labels["alertname"] = "" }, .invalid("no alertname label"))
        for target in ["../node2", "node2/x", "node 2", "", String(repeating: "n", count: 65)] {
            XCTAssertEqual(triage { $0.labels["peer"] = target },
                           .invalid("target \"\(target)\" is not a tinc node or BIRD protocol name"), target)
        }
        // A BGP alert's protocol ("session", then "name") wins over "peer", which the exporter adds
        // to BGP series too (the health problem is named after the protocol); an alert without any
        // of them has no target.
        XCTAssertEqual(triage { $0.labels["session"] = "bgp_node3" }.requestTarget, "bgp_node3")
        XCTAssertEqual(triage { $0.labels["name"] = "bgpmesh_node2" }.requestTarget, "bgpmesh_node2")
        XCTAssertEqual(triage { $0.labels["peer"] = nil; $0.labels["name"] = "bgp_node3" }.requestTarget, "bgp_node3")
        guard case let .repair(request) = triage({ $0.labels["peer"] = nil }) else { return XCTFail("no repair") }
        XCTAssertNil(request.target)
    }
}

extension AlertTriage {
    /// The target of a repair, nil for anything else.
    var requestTarget: String? {
        if case let .repair(request) = self { return request.target }
        return nil
    }
}
