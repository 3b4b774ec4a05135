import EtcdClient
@testable import MeshAgent
import TincControl
import XCTest

/// The view of the registry: a full read, then watch events, each turned into the changes the
/// loop logs and reconciles.
final class RegistryViewTests: XCTestCase {
    typealias R = RegistryTestRecords

    func n(_ s: String) -> TincNodeName { R.name(s) }

    /// The `.pinned` changes among `changes`.
    func pins(_ changes: [RegistryView.Change]) -> Set<RegistryView.Change> {
        Set(changes.filter { if case .pinned = $0 { true } else { false } })
    }

    func testAResetReportsTheDifferenceFromTheLastView() throws {
        var view = RegistryView(prefix: R.prefix, rules: R.rules)
        var changes = view.reset([try R.put("node1"), try R.put("node2"), R.alive("node1")], revision: 5, now: 0)
        XCTAssertEqual(Set(changes).subtracting(pins(changes)), [.added(n("node1")), .added(n("node2")), .becameAlive(n("node1"))])
        XCTAssertEqual(Set(view.pins.keys), ["node1", "node2"], "first use pins both")
        XCTAssertEqual(view.revision, 5)
        XCTAssertEqual(view.counts.alive, 1)
        XCTAssertEqual(view.counts.dead, 1)

        var moved = try RegistryTestRecords.record("node2")
        moved.underlay.addresses = ["192.0.2.22"]
        let readdressed = EtcdKeyValue(key: Array((R.prefix + "nodes/node2").utf8), value: try R.signed(moved))
        changes = view.reset([try R.put("node1"), readdressed, try R.put("node3"), R.alive("node3")], revision: 9, now: 0)
        XCTAssertEqual(Set(changes).subtracting(pins(changes)), [.updated(n("node2"), keyChanged: false), .added(n("node3")),
                                                                  .becameAlive(n("node3")), .becameDead(n("node1"))])
        XCTAssertEqual(view.records[n("node2")]?.record.underlay.addresses, ["192.0.2.22"])
    }

    func testEventsInOrder() throws {
        var view = try R.view(["node1", "node2"], alive: ["node1", "node2"])
        let node3 = try R.put("node3")
        var changes = view.apply([EtcdEvent(kind: .put, kv: node3), EtcdEvent(kind: .put, kv: node3),
                                  EtcdEvent(kind: .delete, kv: R.alive("node2"))], revision: 12, now: 0)
        XCTAssertEqual(changes, [.pinned(n("node3"), view.pins["node3"]!), .added(n("node3")), .becameDead(n("node2"))],
                       "a put of the same bytes changes nothing")
        XCTAssertEqual(view.revision, 12)
        changes = view.apply([EtcdEvent(kind: .delete, kv: try R.put("node2")), EtcdEvent(kind: .delete, kv: try R.put("node2"))], revision: 11, now: 0)
        XCTAssertEqual(changes, [.removed(n("node2"))])
        XCTAssertEqual(view.revision, 12, "the revision never goes back")
        XCTAssertEqual(view.records.keys.sorted(), [n("node1"), n("node3")])
    }

    func testARejectedUpdateKeepsTheLastGoodRecord() throws {
        var view = try R.view(["node1", "node2"])
        let good = view.records[n("node2")]
        let broken = EtcdKeyValue(key: Array((R.prefix + "nodes/node2").utf8), value: Array("{not json".utf8), modRevision: 13)
        let hostile = EtcdKeyValue(key: Array((R.prefix + "nodes/../x").utf8), value: try R.put("node3").value, modRevision: 14)
        let changes = view.apply([EtcdEvent(kind: .put, kv: broken), EtcdEvent(kind: .put, kv: hostile)], revision: 14, now: 0)
        XCTAssertEqual(changes, [.rejected(key: R.prefix + "nodes/node2", revision: 13, .malformed),
                                 .rejected(key: R.prefix + "nodes/../x", revision: 14, .invalidName)])
        XCTAssertEqual(view.records[n("node2")], good)
        XCTAssertEqual(view.records.count, 2)
    }

    func testKeysOutsideNodesAndAliveAreIgnored() throws {
        var view = try R.view(["node1"])
        let other = EtcdKeyValue(key: Array((R.prefix + "views/node1").utf8), value: Array("{}".utf8))
        XCTAssertEqual(view.apply([EtcdEvent(kind: .put, kv: other), EtcdEvent(kind: .delete, kv: other)], revision: 20, now: 0), [])
    }
}
