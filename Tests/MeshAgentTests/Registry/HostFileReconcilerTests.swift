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
        var plan = reconciler.plan(view: view, me: me, now: t0, owned: [])
        XCTAssertEqual(plan.write.map(\.name), [n("node2"), n("node3")])
        XCTAssertEqual(plan.write.first, view.records[n("node2")])
        XCTAssertEqual(plan.remove, [])
        // A failed write stays due; an installed one is done.
        reconciler.installed(n("node2"))
        plan = reconciler.plan(view: view, me: me, now: t0, owned: [])
        XCTAssertEqual(plan.write.map(\.name), [n("node3")])
        reconciler.installed(n("node3"))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0, owned: []), .init(write: [], remove: []))
    }

    func testOnlyChangedRecordsAreWritten() throws {
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        var reconciler = HostFileReconciler(removalHold: hold)
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0, owned: []).write, [], "a file nobody changed in the registry is drift, not a write")
        reconciler.updated(n("node3"))
        reconciler.updated(n("node1"))
        reconciler.added(n("node9"))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0, owned: []).write.map(\.name), [n("node3")],
                       "this node's own file is never written, and a name without a record is dropped")
        XCTAssertEqual(reconciler.dirty, [n("node3")])
    }

    func testADeletedRecordsFileGoesOnlyAfterTheHold() throws {
        let view = try RegistryTestRecords.view(["node1", "node2"])
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node3"), at: t0)
        reconciler.removed(n("node3"), at: t0 + .seconds(3))
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold - .milliseconds(1), owned: []).remove, [])
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold, owned: []).remove, [n("node3")],
                       "the hold counts from the first time the record was seen gone")
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold * 3, owned: []).remove, [], "removed once")
    }

    func testARecordThatComesBackCancelsItsRemoval() throws {
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node2"), at: t0)
        reconciler.removed(n("node3"), at: t0)
        reconciler.added(n("node2"))
        // node3's record is back in the view without an event (a resync's diff found nothing to say).
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        let plan = reconciler.plan(view: view, me: me, now: t0 + hold * 10, owned: [])
        XCTAssertEqual(plan.remove, [])
        XCTAssertEqual(plan.write.map(\.name), [n("node2")])
        XCTAssertEqual(reconciler.pendingRemoval, [:])
    }

    func testNothingIsRemovedWhileTheRegistryLacksThisNode() throws {
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.removed(n("node2"), at: t0)
        let wiped = try RegistryTestRecords.view([])
        XCTAssertEqual(reconciler.plan(view: wiped, me: me, now: t0 + hold * 10, owned: []).remove, [])
        XCTAssertEqual(reconciler.pendingRemoval.keys.sorted(), [n("node2")], "still due once the registry holds this node")
        let back = try RegistryTestRecords.view(["node1"])
        XCTAssertEqual(reconciler.plan(view: back, me: me, now: t0 + hold * 10, owned: []).remove, [n("node2")])
    }

    func testAResyncSweepsOwnedFilesOfNodesTheRegistryNoLongerHas() throws {
        let view = try RegistryTestRecords.view(["node1", "node2"])
        var reconciler = HostFileReconciler(removalHold: hold)
        let owned: Set = [n("node1"), n("node2"), n("node7")]
        _ = reconciler.plan(view: view, me: me, now: t0, owned: owned)
        XCTAssertEqual(reconciler.pendingRemoval, [:], "the ledger is swept only after a full read")
        reconciler.resynced(view.records.keys)
        var plan = reconciler.plan(view: view, me: me, now: t0, owned: owned)
        XCTAssertEqual(plan.remove, [], "a swept file waits for the hold too")
        XCTAssertEqual(reconciler.pendingRemoval, [n("node7"): t0], "only the ledger's names, and only those without a record")
        plan = reconciler.plan(view: view, me: me, now: t0 + hold, owned: owned)
        XCTAssertEqual(plan.remove, [n("node7")])
        reconciler.resynced(view.records.keys)
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold * 2, owned: [n("node1"), n("node2")]).remove, [],
                       "a name the ledger does not hold is never swept, whatever its file says")
        XCTAssertEqual(reconciler.pendingRemoval, [:])
    }

    func testHeldNamesAreNeitherWrittenNorRemoved() throws {
        let view = try RegistryTestRecords.view(["node1", "node2", "node3"])
        var reconciler = HostFileReconciler(removalHold: hold)
        reconciler.resynced(view.records.keys)
        reconciler.removed(n("node5"), at: t0)
        let held: Set = [n("node3"), n("node5"), n("node6")]
        let plan = reconciler.plan(view: view, me: me, now: t0 + hold, owned: [n("node5"), n("node6")], held: held)
        XCTAssertEqual(plan.write.map(\.name), [n("node2")])
        XCTAssertEqual(plan.remove, [])
        XCTAssertEqual(reconciler.pendingRemoval, [:], "a held name is not due for removal")
        XCTAssertTrue(reconciler.dirty.contains(n("node3")), "written once it is no longer held")
        XCTAssertEqual(reconciler.plan(view: view, me: me, now: t0 + hold, owned: []).write.map(\.name), [n("node2"), n("node3")])
    }

    // MARK: whose file it is

    func testTheClaimOfAHostFile() {
        let wanted = Array("record bytes\n".utf8)
        let other = Array("# the operator's file\n".utf8)
        typealias C = HostFileReconciler.Claim
        let rows: [(String, HostFileReconciler.OnDisk, Bool, [UInt8]?, C)] = [
            ("no file: the agent may write it", .absent, false, wanted, .absent),
            ("no file, in the ledger", .absent, true, wanted, .owned),
            ("in the ledger, garbled: drift, the agent's to repair", .bytes(other), true, wanted, .owned),
            ("in the ledger, a FIFO: still the agent's", .unreadable, true, wanted, .owned),
            ("in the ledger, for a removal", .bytes(other), true, nil, .owned),
            ("not in the ledger, exactly the record's bytes: adopted", .bytes(wanted), false, wanted, .adoptable),
            ("not in the ledger, other bytes: the operator's", .bytes(other), false, wanted, .conflict),
            ("not in the ledger, the record's bytes plus a byte", .bytes(wanted + [0x0A]), false, wanted, .conflict),
            ("not in the ledger, unreadable", .unreadable, false, wanted, .conflict),
            ("not in the ledger, for a removal: never the agent's", .bytes(wanted), false, nil, .conflict),
        ]
        for (what, onDisk, owned, expected, claim) in rows {
            XCTAssertEqual(HostFileReconciler.claim(onDisk, owned: owned, expected: expected), claim, what)
        }
    }

    func testDriftStatesFollowTheClaim() {
        let wanted = Array("record bytes\n".utf8)
        let other = Array("garbled".utf8)
        let rows: [(HostFileReconciler.OnDisk, Bool, MeshState.HostFileState)] = [
            (.bytes(wanted), true, .ok), (.bytes(wanted), false, .ok),
            (.absent, true, .missing), (.absent, false, .missing),
            (.bytes(other), true, .mismatch), (.unreadable, true, .mismatch),
            (.bytes(other), false, .conflict), (.unreadable, false, .conflict),
        ]
        for (onDisk, owned, state) in rows {
            XCTAssertEqual(RegistryDrift.hostFileState(onDisk, owned: owned, expected: wanted), state, "\(onDisk) owned: \(owned)")
        }
    }

    func testARefusalIsNewsOnceUntilResolved() {
        var reconciler = HostFileReconciler(removalHold: hold)
        XCTAssertTrue(reconciler.refused(n("node2")))
        XCTAssertFalse(reconciler.refused(n("node2")))
        reconciler.resolved(n("node2"))
        XCTAssertTrue(reconciler.refused(n("node2")))
    }
}
