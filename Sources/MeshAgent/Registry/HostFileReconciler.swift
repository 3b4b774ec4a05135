import TincControl

/// Decides which `hosts/<peer>` files the registry writes and removes. Pure: the caller does
/// the file I/O and passes the time.
///
/// A host file is the agent's only when its ledger (`OwnedFiles`) says the agent wrote it:
/// the agent writes or removes `hosts/<peer>` only when it does not exist or is in the ledger.
/// Any other file is the operator's (`claim` says `.conflict`): never written, never removed.
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
    /// Dirty records whose change is a key rotation: installed without HUP (tinc 1.0.36 reads
    /// `hosts/<name>` afresh for each new connection, and HUP would close the one to that node).
    private(set) var quiet: Set<TincNodeName> = []
    /// Nodes whose record is gone, and since when.
    private(set) var pendingRemoval: [TincNodeName: ContinuousClock.Instant] = [:]
    /// After a full range: owned host files of nodes the registry no longer has are due for removal too.
    private(set) var sweepManaged = false
    /// Names whose file the agent refused to write or remove because it is not the agent's,
    /// so the refusal is logged once, not every round.
    private(set) var refusals: Set<TincNodeName> = []

    init(removalHold: Duration) {
        self.removalHold = removalHold
    }

    /// What one round does to hosts/.
    struct Plan: Sendable, Equatable {
        /// Records whose host file is to be written (when its bytes differ), by name.
        var write: [ValidNodeRecord]
        /// Host files to remove: their record has stayed gone for the hold.
        var remove: [TincNodeName]
        /// Names in `write` whose change is a key rotation: written without making tincd reload.
        var quiet: Set<TincNodeName> = []
    }

    mutating func added(_ name: TincNodeName) {
        dirty.insert(name)
        pendingRemoval[name] = nil
    }

    mutating func updated(_ name: TincNodeName) {
        dirty.insert(name)
    }

    /// The name's pin moved along its rotation statements: its next write is quiet.
    mutating func rotated(_ name: TincNodeName) {
        dirty.insert(name)
        quiet.insert(name)
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

    /// The host file of `name` now holds its record (written or already right), or is the
    /// operator's (a conflict, which the drift check reports): either way this round is done.
    mutating func installed(_ name: TincNodeName) {
        dirty.remove(name)
        quiet.remove(name)
    }

    /// The agent wrote or removed the file of `name`: a later refusal is news again.
    mutating func resolved(_ name: TincNodeName) {
        refusals.remove(name)
    }

    /// Records that the file of `name` was left alone because it is not the agent's; true the
    /// first time (the caller logs it then).
    mutating func refused(_ name: TincNodeName) -> Bool {
        refusals.insert(name).inserted
    }

    /// The round's plan. `owned` is the ledger's names: a sweep after a full read schedules the
    /// removal of those the registry no longer has (a marker line alone proves nothing). Names
    /// in `held` are neither written nor removed this round. Removals leave the pending set when
    /// planned (a failed unlink is not retried: the file was the agent's and is reported by the
    /// drift check).
    mutating func plan(view: RegistryView, me: TincNodeName, now: ContinuousClock.Instant,
                       owned: Set<TincNodeName>, held: Set<TincNodeName> = []) -> Plan {
        var write: [ValidNodeRecord] = []
        for name in dirty.sorted() where !held.contains(name) {
            guard name != me, let record = view.records[name] else {
                dirty.remove(name)
                quiet.remove(name)
                continue
            }
            write.append(record)
        }
        if sweepManaged {
            for name in owned where view.records[name] == nil && name != me && pendingRemoval[name] == nil {
                pendingRemoval[name] = now
            }
            sweepManaged = false
        }
        pendingRemoval = pendingRemoval.filter { view.records[$0.key] == nil && $0.key != me && !held.contains($0.key) }
        var remove: [TincNodeName] = []
        // Only from a registry that holds this node: an empty answer (a wiped or wrong prefix)
        // must not empty hosts/.
        if view.records[me] != nil {
            for (name, since) in pendingRemoval where now - since >= removalHold {
                pendingRemoval[name] = nil
                remove.append(name)
            }
        }
        return Plan(write: write, remove: remove.sorted(), quiet: quiet.intersection(write.map(\.name)))
    }
}

extension HostFileReconciler {
    /// What is at `hosts/<name>`.
    enum OnDisk: Sendable, Equatable {
        case absent
        case bytes([UInt8])
        /// Something that is not a readable host file: a FIFO, a directory, a file too large or unreadable.
        case unreadable
    }

    /// Whose `hosts/<name>` is, and so what the agent may do with it.
    enum Claim: Sendable, Equatable {
        /// Nothing there: the agent may write it.
        case absent
        /// In the ledger: the agent's to write (bytes changed behind its back are drift, put
        /// right) or remove.
        case owned
        /// Not in the ledger, but exactly the bytes the agent would write for the current record:
        /// taken into the ledger (the upgrade rule: same bytes, no harm).
        case adoptable
        /// Not in the ledger and not those bytes: the operator's. Never written, never removed.
        case conflict
    }

    /// The rule. `expected` is what the agent would write for the name's current valid record
    /// (nil when there is none, as for a removal).
    static func claim(_ onDisk: OnDisk, owned: Bool, expected: [UInt8]?) -> Claim {
        if owned { return .owned }
        switch onDisk {
        case .absent: return .absent
        case .bytes(let bytes) where expected == bytes: return .adoptable
        case .bytes, .unreadable: return .conflict
        }
    }
}
