@testable import MeshAgent
import TincControl
import XCTest

/// Which host files a round writes and removes, with the time passed in: no clock, no files.
final class HostFileReconcilerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let hold = Duration.seconds(4)
    let me = RegistryTestRecords.name("node1")

    func n(_ s: String) -> TincNodeName { RegistryTestRecords.name(s) }

    func testAResyncWritesEveryRecordButThisNodesUntilInstalled() throws {
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.resynced(view.records.keys)
        var plan = reconciler.plan(view: view, me: me, now: t0) { [] }
        XCTAssertEqual(plan.write.map(\.name), [n("node2"), n("node3")])
        XCTAssertEqual(plan.write.first, view.records[n("node2")])
        XCTAssertEqual(plan.remove, [])
        // A failed write stays due; an installed one is done.
        reconciler.installed(n("node2"))
        plan = reconciler.plan(view: view, me: me, now: t0) { [] }
        XCTAssertEqual(plan.write.map(\.name), [n("node3")])
        reconciler.installed(n("node3"))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0) { [] }, .init(write: [], remove: []))
    }

    func testOnlyChangedRecordsAreWritten() throws {
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        var reconciler = HostFileReconciler(removalHold: hold)
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0) { [] }.write, [], "a file nobody changed in the registry is drift, not a write")
        reconciler.updated(n("node3"))
        reconciler.updated(n("node1"))
        reconciler.added(n("node9"))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0) { [] }.write.map(\.name), [n("node3")],
                       "this node's own file is never written, and a name without a record is dropped")
        XCTAssertEqual(reconciler.dirty, [n("node3")])
    }

    func testADeletedRecordsFileGoesOnlyAfterTheHold() throws {
        let view = try RegistryTestRecords.view(["node1", "node2"])
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node3"), at: t0)
        reconciler.removed(n("node3"), at: t0 + .seconds(3))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold - .milliseconds(1)) { [] }.remove, [])
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold) { [] }.remove, [n("node3")],
                       "the hold counts from the first time the record was seen gone")
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold * 3) { [] }.remove, [], "removed once")
    }

    func testARecordThatComesBackCancelsItsRemoval() throws {
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node2"), at: t0)
        reconciler.removed(n("node3"), at: t0)
        reconciler.added(n("node2"))
        // node3's record is back in the view without an event (a resync's diff found nothing to say).
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        let plan = reconciler.plan(view: view, me: me, now: t0 + hold * 10) { [] }
        XCTAssertEqual(plan.remove, [])
        XCTAssertEqual(plan.write.map(\.name), [n("node2")])
        XCTAssertEqual(reconciler.pendingRemoval, [:])
    }

    func testNothingIsRemovedWhileTheRegistryLacksThisNode() throws {
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node2"), at: t0)
        let wiped = try RegistryTestRecords.view([])
        XCTAssertEqual(reconciler.plan(view: wiped, me: me, now: t0 + hold * 10) { [] }.remove, [])
        XCTAssertEqual(reconciler.pendingRemoval.keys.sorted(), [n("node2")], "still due once the registry holds this node")
        let back = try RegistryTestRecords.view(["node1"])
        XCTAssertEqual(reconciler.plan(view: back, me: me, now: t0 + hold * 10) { [] }.remove, [n("node2")])
    }

    func testAResyncSweepsManagedFilesOfNodesTheRegistryNoLongerHas() throws {
        let view = try RegistryTestRecords.view(["node1", "node2"])
        var reconciler = HostFileReconciler(removalHold: hold)
        var listed = 0
        _ = reconciler.plan(view: view, me: me, now: t0) { listed += 1; return [n("node7")] }
        XCTAssertEqual(listed, 0, "hosts/ is listed only after a full read")
        reconciler.resynced(view.records.keys)
        var plan = reconciler.plan(view: view, me: me, now: t0) { listed += 1; return [n("node1"), n("node2"), n("node7")] }
        XCTAssertEqual(listed, 1)
        XCTAssertEqual(plan.remove, [], "a swept file waits for the hold too")
        XCTAssertEqual(reconciler.pendingRemoval, [n("node7"): t0])
        plan = reconciler.plan(view: view, me: me, now: t0 + hold) { listed += 1; return [] }
        XCTAssertEqual(listed, 1, "one sweep per full read")
        XCTAssertEqual(plan.remove, [n("node7")])
    }
}
