@testable import MeshAgent
import XCTest

/// Webhook bodies captured from Alertmanager 0.25 (scripts/capture-alertmanager.sh), decoded.
final class AlertmanagerPayloadTests: XCTestCase {
    func testFiringAlert() throws {
        let p = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1"))
        XCTAssertEqual(p.version, "4")
        XCTAssertEqual(p.status, .firing)
        XCTAssertEqual(p.receiver, "bgpmesh-agent")
        XCTAssertEqual(p.groupKey, #"{}/{alertname="TincPeerUnreachable"}:{alertname="TincPeerUnreachable"}"#)
        XCTAssertEqual(p.groupLabels, ["alertname": "TincPeerUnreachable"])
        XCTAssertEqual(p.commonLabels["node"], "node1")
        XCTAssertEqual(p.commonAnnotations["summary"], "node1 cannot reach node2 over tinc")
        XCTAssertEqual(p.externalURL, "http://alertmanager.invalid:9093")
        XCTAssertEqual(p.alerts.count, 1)
        let a = p.alerts[0]
        XCTAssertEqual(a.status, .firing)
        XCTAssertEqual(a.labels, ["alertname": "TincPeerUnreachable", "node": "node1", "peer": "node2", "severity": "warning"])
        XCTAssertEqual(a.fingerprint, "8ba2c631a6376e52")
        XCTAssertEqual(a.startsAt, "2026-11-30T10:00:00Z")
        XCTAssertEqual(a.endsAt, "0001-01-01T00:00:00Z", "Go's zero time while firing")
        XCTAssertTrue(a.generatorURL.hasPrefix("http://prometheus.invalid:9090/graph?"), a.generatorURL)
        XCTAssertEqual(a.key, "8ba2c631a6376e52@2026-11-30T10:00:00Z")
    }

    /// The dedup key holds across a repeat (same alert re-sent) and the resolve (so cancel finds the work).
    func testRepeatAndResolvedKeepTheAlertKey() throws {
        let firing = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1"))
        let repeated = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1-repeat"))
        let resolved = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("resolved-TincPeerUnreachable-node1"))
        XCTAssertEqual(repeated, firing, "a repeat delivery is the same payload")
        XCTAssertEqual(resolved.status, .resolved)
        XCTAssertEqual(resolved.alerts.map(\.status), [.resolved])
        XCTAssertEqual(resolved.alerts[0].key, firing.alerts[0].key)
        XCTAssertNotEqual(resolved.alerts[0].endsAt, "0001-01-01T00:00:00Z")
    }

    /// A group may hold several nodes' alerts, and a firing group may carry resolved alerts.
    func testGroupOfTwoNodesThenOneResolved() throws {
        let both = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("firing-BGPSessionDown-node1-node2"))
        XCTAssertEqual(both.alerts.map { $0.labels["node"] }, ["node1", "node2"])
        XCTAssertEqual(both.alerts.map { $0.labels["session"] }, ["node2", "node1"])
        XCTAssertNil(both.commonLabels["node"], "node differs, so it is not common")
        let partly = try AlertmanagerPayload.decode(Fixture.alertmanagerPayload("firing-BGPSessionDown-node1-node2-resolved"))
        XCTAssertEqual(partly.status, .firing)
        XCTAssertEqual(partly.alerts.map(\.status), [.firing, .resolved])
        XCTAssertEqual(partly.alerts.map(\.key), both.alerts.map(\.key))
    }

    func testRefusals() throws {
        let firing = String(decoding: try Fixture.alertmanagerPayload("firing-TincPeerUnreachable-node1"), as: UTF8.self)
        func refusal(_ text: String) -> AlertmanagerPayload.DecodeError? {
            do { _ = try AlertmanagerPayload.decode(Array(text.utf8)); return nil } catch { return error }
        }
        guard case .notJSON = refusal("not json {") else { return XCTFail("garbage") }
        XCTAssertEqual(refusal("[1,2]"), .notJSON("the top level is not an object"))
        XCTAssertEqual(refusal(firing.replacingOccurrences(of: #""version":"4""#, with: #""version":"3""#)), .unsupportedVersion("3"))
        XCTAssertEqual(refusal(firing.replacingOccurrences(of: #""version":"4""#, with: #""version":4"#)), .unsupportedVersion(nil))
        XCTAssertEqual(refusal(#"{"version":"4","status":"firing"}"#), .invalid(#"missing "alerts""#))
        XCTAssertEqual(refusal(firing.replacingOccurrences(of: #","fingerprint":"8ba2c631a6376e52""#, with: "")),
                       .invalid(#"missing "alerts[0].fingerprint""#))
        XCTAssertEqual(refusal(firing.replacingOccurrences(of: #""labels":{"alertname""#, with: #""labels":{"n":1,"alertname""#)),
                       .invalid(#""alerts[0].labels.n" is not a string"#))
        guard case let .invalid(reason)? = refusal(firing.replacingOccurrences(of: #"{"status":"firing""#, with: #"{"status":"pending""#)),
              reason.hasPrefix(#""alerts[0].status": "#) else { return XCTFail("unknown alert status") }
        XCTAssertEqual(AlertmanagerPayload.DecodeError.unsupportedVersion("3").description,
                       #"unsupported webhook payload version "3" (this agent reads version "4")"#)
    }

    /// Fields the agent does not act on may be missing (a sender other than Alertmanager).
    func testOptionalFieldsDefault() throws {
        let p = try AlertmanagerPayload.decode(Array(#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"node":"n"},"startsAt":"s","fingerprint":"f"}]}"#.utf8))
        XCTAssertEqual(p.alerts, [AlertmanagerPayload.Alert(status: .firing, labels: ["node": "n"], startsAt: "s", fingerprint: "f")])
        XCTAssertEqual(p.groupKey, "")
    }
}
