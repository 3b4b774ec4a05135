import TincControl

/// Decides which `hosts/<peer>` files the registry writes and removes. Pure: the caller does
/// the file I/O and passes the time.
///
/// Only records the registry changed are written: a file changed behind the agent's back is
/// drift, which the repair loop (not the registry) puts right, so that `repair.mode=off`
/// really leaves it alone. A node whose record is gone loses its host file only once the
/// record has stayed gone for `removalHold`, so a prefix wiped by mistake (every agent
/// publishes again within a third of the TTL) does not tear the mesh down.
struct HostFileReconciler: Sendable {
    let removalHold: Duration
    /// Records changed by the registry since their host files were last written.
    private(set) var dirty: Set<TincNodeName> = []
    /// Nodes whose record is gone, and since when.
    private(set) var pendingRemoval: [TincNodeName: ContinuousClock.Instant] = [:]
    /// After a full range: managed host files of nodes the registry no longer has are due for removal too.
    private(set) var sweepManaged = false

    init(removalHold: Duration) {
        self.removalHold = removalHold
    }

    /// What one round does to hosts/.
    struct Plan: Sendable, Equatable {
        /// Records whose host file is to be written (when its bytes differ), by name.
        var write: [ValidNodeRecord]
        /// Host files to remove: their record has stayed gone for the hold.
        var remove: [TincNodeName]
    }

    mutating func added(_ name: TincNodeName) {
        dirty.insert(name)
        pendingRemoval[name] = nil
    }

    mutating func updated(_ name: TincNodeName) {
        dirty.insert(name)
    }

    mutating func removed(_ name: TincNodeName, at now: ContinuousClock.Instant) {
        if pendingRemoval[name] == nil { pendingRemoval[name] = now }
    }

    /// The view was read whole again: every record is written if it differs, and the managed
    /// host files are swept at the next round.
    mutating func resynced(_ names: some Sequence<TincNodeName>) {
        dirty.formUnion(names)
        sweepManaged = true
    }

    /// The host file of `name` now holds its record (written or already right).
    mutating func installed(_ name: TincNodeName) {
        dirty.remove(name)
    }

    /// The round's plan. `managed` lists the host files that carry the agent's marker; it is
    /// called only for a sweep. Removals leave the pending set when planned (a failed unlink
    /// is not retried: the file was the agent's and is reported by the drift check).
    mutating func plan(view: RegistryView, me: TincNodeName, now: ContinuousClock.Instant,
                       managed: () -> [TincNodeName]) -> Plan {
        var write: [ValidNodeRecord] = []
        for name in dirty.sorted() {
            guard name != me, let record = view.records[name] else {
                dirty.remove(name)
                continue
            }
            write.append(record)
        }
        if sweepManaged {
            for name in managed() where view.records[name] == nil && name != me && pendingRemoval[name] == nil && !view.isHeld(name) {
                pendingRemoval[name] = now
            }
            sweepManaged = false
        }
        // A name whose current value is refused keeps its file as it is (held), however long.
        pendingRemoval = pendingRemoval.filter { view.records[$0.key] == nil && $0.key != me && !view.isHeld($0.key) }
        var remove: [TincNodeName] = []
        // Only from a registry that holds this node: an empty answer (a wiped or wrong prefix)
        // must not empty hosts/.
        if view.records[me] != nil {
            for (name, since) in pendingRemoval where now - since >= removalHold {
                pendingRemoval[name] = nil
                remove.append(name)
            }
        }
        return Plan(write: write, remove: remove.sorted())
    }
}
