import EtcdClient
@testable import MeshAgent
import TincControl
import XCTest

/// The view's trust rules with real `tincd -K` keys: signatures, pins, the agent's own name,
/// enrollment by an admin key, subnet conflicts and registry.max-nodes.
final class RegistryTrustTests: XCTestCase {
    typealias R = RegistryTestRecords

    func n(_ s: String) -> TincNodeName { R.name(s) }

    func kv(_ node: String, _ value: [UInt8], revision: Int64) -> EtcdKeyValue {
        EtcdKeyValue(key: Array((R.prefix + "nodes/" + node).utf8), value: value, createRevision: revision, modRevision: revision)
    }

    /// node2's name with node3's key, correctly signed by node3: what anyone with etcd write access can make.
    func impostor(revision: Int64) throws -> EtcdKeyValue {
        try R.put("node2", key: "node3", revision: revision)
    }

    func testAnImpostorKeyIsRefusedAndTheTrustedRecordKept() throws {
        var view = try R.view(["node1", "node2"])
        let trusted = view.records[n("node2")]
        XCTAssertEqual(view.pins["node2"]?.fingerprintSHA256, try R.key("node2").fingerprintSHA256)
        XCTAssertEqual(view.pins["node2"]?.source, .firstUse)
        let changes = view.apply([EtcdEvent(kind: .put, kv: try impostor(revision: 20))], revision: 20, now: 0)
        XCTAssertEqual(changes, [.rejected(key: R.prefix + "nodes/node2", revision: 20, .keyNotPinned)])
        XCTAssertEqual(view.records[n("node2")], trusted, "the last trusted record stays")
        XCTAssertTrue(view.isHeld(n("node2")))
        let detail = try XCTUnwrap(view.refused[n("node2")]?.detail)
        let (pinned, offered) = (try R.key("node2").fingerprintSHA256, try R.key("node3").fingerprintSHA256)
        XCTAssertTrue(detail.contains(pinned) && detail.contains(offered), detail)
        XCTAssertEqual(view.pins["node2"]?.fingerprintSHA256, try R.key("node2").fingerprintSHA256, "the pin does not move")
        // The real record again: accepted, no longer held.
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: try R.put("node2", revision: 21))], revision: 21, now: 0), [])
        XCTAssertFalse(view.isHeld(n("node2")))
    }

    func testAfterARestartAnImpostorIsHeldAndItsHostFileStays() throws {
        let before = try R.view(["node1", "node2"])
        // A new run: the pins come from the state directory, etcd holds only the impostor's value.
        var view = RegistryView(prefix: R.prefix, rules: R.rules, pins: before.pins)
        view.setSelf(n("node1"), fingerprint: try R.key("node1").fingerprintSHA256)
        let changes = view.reset([try R.put("node1", revision: 3), try impostor(revision: 9)], revision: 9, now: 0)
        XCTAssertTrue(changes.contains(.rejected(key: R.prefix + "nodes/node2", revision: 9, .keyNotPinned)))
        XCTAssertNil(view.records[n("node2")])
        XCTAssertTrue(view.isHeld(n("node2")))
        // The reconciler neither writes nor removes node2's file, however long it stays refused.
        var reconciler = HostFileReconciler(removalHold: .seconds(10))
        reconciler.resynced(view.records.keys)
        let t0 = ContinuousClock.now
        let owned: Set = [n("node2")]
        _ = reconciler.plan(view: view, me: n("node1"), now: t0, owned: owned, held: Set(view.refused.keys))
        let plan = reconciler.plan(view: view, me: n("node1"), now: t0 + .seconds(3600), owned: owned, held: Set(view.refused.keys))
        XCTAssertEqual(plan, .init(write: [], remove: []))
    }

    func testASignatureByAnotherKeyIsRefused() throws {
        var view = try R.view(["node1"])
        // node2's own key in the record, signed by node3: the signature does not verify.
        let forged = kv("node2", try R.signed(R.record("node2"), by: "node3"), revision: 20)
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: forged)], revision: 20, now: 0),
                       [.rejected(key: R.prefix + "nodes/node2", revision: 20, .badSignature)])
        XCTAssertNil(view.pins["node2"], "nothing is pinned from a bad record")
        // A signed record whose bytes were changed afterwards.
        var text = String(decoding: try R.signed(R.record("node2")), as: UTF8.self)
        text = text.replacingOccurrences(of: "192.0.2.12", with: "192.0.2.66")
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: kv("node2", Array(text.utf8), revision: 21))], revision: 21, now: 0),
                       [.rejected(key: R.prefix + "nodes/node2", revision: 21, .badSignature)])
    }

    func testThisNodesNameTakesOnlyItsOwnKey() throws {
        var view = RegistryView(prefix: R.prefix, rules: R.rules)
        view.setSelf(n("node1"), fingerprint: try R.key("node1").fingerprintSHA256)
        // Someone else got there first with node1's name: refused, and node1's name is never pinned from etcd.
        var changes = view.reset([try R.put("node1", key: "node3", revision: 2)], revision: 2, now: 0)
        XCTAssertEqual(changes, [.rejected(key: R.prefix + "nodes/node1", revision: 2, .keyNotPinned)])
        XCTAssertNil(view.pins["node1"])
        changes = view.apply([EtcdEvent(kind: .put, kv: try R.put("node1", revision: 3))], revision: 3, now: 0)
        XCTAssertEqual(changes, [.added(n("node1"))], "its own record is accepted without a pin")
        XCTAssertNil(view.pins["node1"])
    }

    func testTheFirstRecordToClaimASubnetKeepsIt() throws {
        var thief = try R.record("node3")
        thief.overlay.subnets = ["203.0.113.0/30"]   // covers node2's 203.0.113.2/32
        let thiefKV = kv("node3", try R.signed(thief), revision: 8)
        var view = RegistryView(prefix: R.prefix, rules: R.rules)
        // Listed first, created later: the order of the read does not decide, the create revision does.
        var changes = view.reset([thiefKV, try R.put("node2", revision: 4)], revision: 8, now: 0)
        XCTAssertTrue(changes.contains(.rejected(key: R.prefix + "nodes/node3", revision: 8, .subnetConflict)), "\(changes)")
        XCTAssertNotNil(view.records[n("node2")])
        XCTAssertTrue(view.refused[n("node3")]?.detail?.contains("node2") == true)
        var twin = try R.record("node4")
        twin.overlay.addresses = ["198.51.100.2"]    // node2's overlay address
        changes = view.apply([EtcdEvent(kind: .put, kv: kv("node4", try R.signed(twin), revision: 9))], revision: 9, now: 0)
        XCTAssertEqual(changes, [.rejected(key: R.prefix + "nodes/node4", revision: 9, .subnetConflict)])
        // node2 leaves: its subnet is free for node3.
        changes = view.apply([EtcdEvent(kind: .delete, kv: kv("node2", [], revision: 10)),
                              EtcdEvent(kind: .put, kv: kv("node3", try R.signed(thief), revision: 11))], revision: 11, now: 0)
        XCTAssertEqual(changes, [.removed(n("node2")), .pinned(n("node3"), view.pins["node3"]!), .added(n("node3"))])
    }

    func testNewNamesBeyondMaxNodesAreRefusedAndKnownOnesStay() throws {
        var rules = R.rules
        rules.maxNodes = 2
        var view = RegistryView(prefix: R.prefix, rules: rules)
        let changes = view.reset([try R.put("node3", revision: 7), try R.put("node1", revision: 2), try R.put("node2", revision: 5)],
                                 revision: 7, now: 0)
        XCTAssertTrue(changes.contains(.rejected(key: R.prefix + "nodes/node3", revision: 7, .tooManyNodes)))
        XCTAssertEqual(Set(view.records.keys), [n("node1"), n("node2")], "the nodes that came first")
        // A known node's update is still taken.
        var moved = try R.record("node2")
        moved.underlay.addresses = ["192.0.2.99"]
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: kv("node2", try R.signed(moved), revision: 8))], revision: 8, now: 0),
                       [.updated(n("node2"), keyChanged: false)])
        XCTAssertEqual(view.apply([EtcdEvent(kind: .delete, kv: kv("node1", [], revision: 9)),
                                   EtcdEvent(kind: .put, kv: try R.put("node3", revision: 10))], revision: 10, now: 0).count, 3,
                       "removed node1, pinned and added node3")
    }

    func testWithAnAdminKeyANameNeedsItsEnrollment() throws {
        let admin = try TrustTestKeys.privateKey("admin")
        var view = RegistryView(prefix: R.prefix, rules: R.rules, adminKey: admin.publicKey)
        let record = try R.record("node2")
        let fingerprint = try R.key("node2").fingerprintSHA256
        func put(_ enrollment: EnrollmentStatement?, revision: Int64, now: Int64 = 1000) throws -> [RegistryView.Change] {
            let value = try SignedRecord.sign(record, with: R.privateKey("node2"), enrollment: enrollment).encoded()
            return view.apply([EtcdEvent(kind: .put, kv: kv("node2", value, revision: revision))], revision: revision, now: now)
        }
        func reason(_ changes: [RegistryView.Change]) -> RegistryRejection? {
            if case .rejected(_, _, let reason)? = changes.first { return reason }
            return nil
        }
        XCTAssertEqual(reason(try put(nil, revision: 2)), .notEnrolled)
        let byNode = try EnrollmentStatement.sign(name: "node2", fingerprintSHA256: fingerprint, expiresAt: nil, with: R.privateKey("node3"))
        XCTAssertEqual(reason(try put(byNode, revision: 3)), .enrollmentBadSignature)
        let otherKey = try EnrollmentStatement.sign(name: "node2", fingerprintSHA256: try R.key("node3").fingerprintSHA256, expiresAt: nil, with: admin)
        XCTAssertEqual(reason(try put(otherKey, revision: 4)), .enrollmentMismatch)
        let expiring = try EnrollmentStatement.sign(name: "node2", fingerprintSHA256: fingerprint, expiresAt: 2000, with: admin)
        XCTAssertEqual(reason(try put(expiring, revision: 5, now: 2000)), .enrollmentExpired)
        XCTAssertNil(view.pins["node2"])
        let changes = try put(expiring, revision: 6, now: 1999)
        XCTAssertEqual(changes.last, .added(n("node2")))
        XCTAssertEqual(view.pins["node2"]?.source, .enrollment)
        // An enrollment never moves a pin: the admin enrolling node3's key for node2 is refused.
        let rekey = try EnrollmentStatement.sign(name: "node2", fingerprintSHA256: try R.key("node3").fingerprintSHA256, expiresAt: nil, with: admin)
        let rekeyed = try SignedRecord.sign(try R.record("node2", key: "node3"), with: R.privateKey("node3"), enrollment: rekey).encoded()
        XCTAssertEqual(reason(view.apply([EtcdEvent(kind: .put, kv: kv("node2", rekeyed, revision: 7))], revision: 7, now: 1000)), .keyNotPinned)
    }

    func testAnOperatorsPinDecidesAtTheNextFullRead() throws {
        var view = try R.view(["node1", "node2"])
        var pins = view.pins
        pins["node2"] = Pin(fingerprintSHA256: try R.key("node4").fingerprintSHA256, pinnedAt: 0, source: .operator)
        view.replacePins(pins)
        // node2 was re-installed with node4's key (the operator pinned it on purpose).
        let changes = view.reset([try R.put("node1"), try R.put("node2", key: "node4")], revision: 30, now: 0)
        XCTAssertEqual(changes, [.updated(n("node2"), keyChanged: true)])
        XCTAssertEqual(view.records[n("node2")]?.key, try R.key("node4"))
    }

    func testWatchEventsAlreadyInAFullReadAreSkipped() throws {
        var view = try R.view(["node1"])
        var old = try R.record("node2")
        old.underlay.addresses = ["192.0.2.77"]
        // A full read at revision 40 saw node2's current record; the watch then delivers an older put.
        _ = view.reset([try R.put("node1"), try R.put("node2", revision: 38)], revision: 40, now: 0)
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: kv("node2", try R.signed(old), revision: 35))], revision: 41, now: 0), [])
        XCTAssertEqual(view.records[n("node2")]?.record.underlay.addresses, ["192.0.2.12"])
    }
}
