import EtcdClient
import TincControl

/// What this agent knows of the registry: the last trusted record of every node and which
/// nodes hold an `alive/` key. Built from a range and kept current by watch events; pure
/// (the caller passes the pins and the time, and persists the new pins it reports).
///
/// A value under `nodes/<name>` becomes a record only if it passes, in order:
/// `RegistryRecordCheck` (shape, size, key, fields, overlay prefixes, subnet count, default
/// route, the signature envelope), `TrustDecision` (the signature by the record's own key, the
/// admin's enrollment when an admin key is set, the name's pin), the subnet rule (no subnet
/// overlapping another node's, no overlay address another node has: the older record keeps
/// it) and `registry.max-nodes` (a new name beyond it is refused, known names stay).
public struct RegistryView: Sendable {
    public let prefix: String
    public let rules: RegistryRecordCheck.Rules
    /// The last trusted record per node. A refused update leaves the previous one in place,
    /// so a hostile write changes no file.
    public private(set) var records: [TincNodeName: ValidNodeRecord] = [:]
    public private(set) var alive: Set<TincNodeName> = []
    /// The store revision the view reflects.
    public private(set) var revision: Int64 = 0
    /// Names whose current value under `nodes/` is refused, with why: their host files are
    /// held as they are (neither rewritten nor removed) while the value stays refused.
    public private(set) var refused: [TincNodeName: Refusal] = [:]
    /// The pins the decisions use; new first-use and enrollment pins are added here and
    /// reported as `.pinned` for the caller to persist.
    public private(set) var pins: [String: Pin] = [:]
    /// The admin key (`registry.admin-public-key`): with it a name needs an enrollment.
    public let adminKey: TincRSAPublicKey?
    /// This node: its own name is pinned to its own key, never to a key from etcd.
    public private(set) var me: (name: TincNodeName, fingerprint: String)?
    /// Watch events at or below this revision are already in the view (a full read was taken
    /// while the watch ran on); they are skipped so an older value never comes back.
    private var baseRevision: Int64 = 0

    /// Why a name's current value is refused.
    public struct Refusal: Error, Sendable, Hashable {
        public var reason: RegistryRejection
        /// For the log: both fingerprints, the other node, the limit.
        public var detail: String?
    }

    /// What one change did, for the caller's logs, counters and files.
    public enum Change: Sendable, Hashable {
        case added(TincNodeName)
        case updated(TincNodeName, keyChanged: Bool)
        case removed(TincNodeName)
        case rejected(key: String, revision: Int64, RegistryRejection)
        case becameAlive(TincNodeName)
        case becameDead(TincNodeName)
        /// A name was pinned to a key for the first time (trust on first use or enrollment).
        case pinned(TincNodeName, Pin)
        /// A name's pin moved from the key of `from` to a new key through its rotation
        /// statements (source `.rotation`).
        case repinned(TincNodeName, Pin, from: String)
    }

    public init(prefix: String, rules: RegistryRecordCheck.Rules, pins: [String: Pin] = [:], adminKey: TincRSAPublicKey? = nil) {
        self.prefix = prefix
        self.rules = rules
        self.pins = pins
        self.adminKey = adminKey
    }

    var nodesPrefix: String { prefix + "nodes/" }
    var alivePrefix: String { prefix + "alive/" }

    /// Sets this node's name and key: its name accepts no other key.
    public mutating func setSelf(_ name: TincNodeName, fingerprint: String) {
        me = (name, fingerprint)
    }

    /// Replaces the pins (the pin file changed: an operator's `trust` command). Records
    /// already held are judged again at the next full read.
    public mutating func replacePins(_ pins: [String: Pin]) {
        self.pins = pins
    }

    /// Replaces the view with a full read (at start, after a compaction or a lost watch, after
    /// the pins changed). Records are judged oldest first (etcd create revision), so the node
    /// that claimed a subnet first keeps it and `max-nodes` keeps the nodes that came first.
    /// Returns what changed relative to the previous view.
    public mutating func reset(_ kvs: [EtcdKeyValue], revision: Int64, now: Int64) -> [Change] {
        let old = self
        records = [:]
        alive = []
        refused = [:]
        var changes: [Change] = []
        let ordered = kvs.sorted { a, b in
            a.createRevision != b.createRevision ? a.createRevision < b.createRevision : a.key.lexicographicallyPrecedes(b.key)
        }
        for kv in ordered {
            for change in apply(put: kv, now: now) {
                switch change {
                case .rejected, .pinned, .repinned: changes.append(change)
                default: break
                }
            }
        }
        self.revision = revision
        baseRevision = revision
        for (name, record) in records {
            if let before = old.records[name] {
                if before.hostFile != record.hostFile {
                    changes.append(.updated(name, keyChanged: before.key != record.key))
                }
            } else {
                changes.append(.added(name))
            }
        }
        // A name refused now but trusted before keeps its last trusted record: a full read of a
        // hostile value must not undo what the watch refused.
        for (name, record) in old.records where records[name] == nil && refused[name] != nil {
            records[name] = record
        }
        for name in old.records.keys where records[name] == nil { changes.append(.removed(name)) }
        for name in alive.subtracting(old.alive) { changes.append(.becameAlive(name)) }
        for name in old.alive.subtracting(alive) { changes.append(.becameDead(name)) }
        return changes
    }

    /// Applies watch events in order.
    public mutating func apply(_ events: [EtcdEvent], revision: Int64, now: Int64) -> [Change] {
        var changes: [Change] = []
        for event in events {
            // Already in the view from a later full read (etcd's revisions start at 1).
            if event.kv.modRevision > 0 && event.kv.modRevision <= baseRevision { continue }
            switch event.kind {
            case .put: changes += apply(put: event.kv, now: now)
            case .delete: changes += apply(delete: event.kv)
            }
        }
        self.revision = max(self.revision, revision)
        return changes
    }

    mutating func apply(put kv: EtcdKeyValue, now: Int64) -> [Change] {
        let key = kv.keyString
        if key.hasPrefix(nodesPrefix) {
            guard let name = RegistryRecordCheck.name(fromKey: key, prefix: nodesPrefix) else {
                return [.rejected(key: key, revision: kv.modRevision, .invalidName)]
            }
            switch judge(name, kv.value, now: now) {
            case .failure(let refusal):
                refused[name] = refusal
                return [.rejected(key: key, revision: kv.modRevision, refusal.reason)]
            case .success(let (record, newPin)):
                refused[name] = nil
                var changes: [Change] = []
                if let newPin {
                    let old = pins[name.rawValue]
                    pins[name.rawValue] = newPin
                    changes.append(old.map { .repinned(name, newPin, from: $0.fingerprintSHA256) } ?? .pinned(name, newPin))
                }
                let before = records[name]
                records[name] = record
                guard let before else { return changes + [.added(name)] }
                if before.hostFile != record.hostFile { changes.append(.updated(name, keyChanged: before.key != record.key)) }
                return changes
            }
        }
        if key.hasPrefix(alivePrefix) {
            guard let name = RegistryRecordCheck.name(fromKey: key, prefix: alivePrefix) else {
                return [.rejected(key: key, revision: kv.modRevision, .invalidName)]
            }
            return alive.insert(name).inserted ? [.becameAlive(name)] : []
        }
        return []
    }

    /// Every rule for one value; on success the record and the pin it makes, if any.
    private func judge(_ name: TincNodeName, _ value: [UInt8], now: Int64) -> Result<(ValidNodeRecord, Pin?), Refusal> {
        let record: ValidNodeRecord
        switch RegistryRecordCheck.check(name: name, value: value, rules: rules) {
        case .failure(let reason): return .failure(Refusal(reason: reason, detail: nil))
        case .success(let valid): record = valid
        }
        let pin: Pin?
        if let me, me.name == name {
            // This node's own name: only its own key, whatever the pin file says.
            pin = Pin(fingerprintSHA256: me.fingerprint, pinnedAt: 0, source: .operator)
        } else {
            pin = pins[name.rawValue]
        }
        let outcome = TrustDecision.decide(record: record.record, key: record.key, signature: record.signature, pin: pin,
                                           adminKey: adminKey, enrollment: record.enrollment, rotations: record.rotations, now: now)
        var newPin: Pin?
        switch outcome {
        case .reject(let rejection):
            return .failure(Refusal(reason: rejection.registryRejection, detail: rejection.description))
        case .accept(let made):
            newPin = me?.name == name ? nil : made
        }
        for (other, held) in records where other != name {
            for subnet in record.subnets {
                if let clash = held.subnets.first(where: { $0.overlaps(subnet) }) {
                    return .failure(Refusal(reason: .subnetConflict, detail: "\(subnet) overlaps \(other)'s \(clash)"))
                }
            }
            for address in record.overlayAddresses where held.overlayAddresses.contains(address) {
                return .failure(Refusal(reason: .subnetConflict, detail: "overlay address \(address) is \(other)'s"))
            }
        }
        if records[name] == nil && records.count >= rules.maxNodes {
            return .failure(Refusal(reason: .tooManyNodes, detail: "the registry holds \(records.count) nodes, registry.max-nodes"))
        }
        return .success((record, newPin))
    }

    mutating func apply(delete kv: EtcdKeyValue) -> [Change] {
        let key = kv.keyString
        if let name = RegistryRecordCheck.name(fromKey: key, prefix: nodesPrefix) {
            refused[name] = nil
            return records.removeValue(forKey: name) == nil ? [] : [.removed(name)]
        }
        if let name = RegistryRecordCheck.name(fromKey: key, prefix: alivePrefix) {
            return alive.remove(name) == nil ? [] : [.becameDead(name)]
        }
        return []
    }

    /// Valid records whose node holds an `alive/` key, and those that do not.
    public var counts: (alive: Int, dead: Int) {
        let a = records.keys.filter { alive.contains($0) }.count
        return (a, records.count - a)
    }

    /// True when `name`'s host file must be left as it is: its current value is refused.
    public func isHeld(_ name: TincNodeName) -> Bool { refused[name] != nil }
}

extension TrustDecision.Rejection {
    /// The registry's rejection reason for a trust refusal.
    var registryRejection: RegistryRejection {
        switch self {
        case .keyMismatch: .fingerprintMismatch
        case .badSignature: .badSignature
        case .keyNotPinned: .keyNotPinned
        case .notEnrolled: .notEnrolled
        case .enrollmentBadSignature: .enrollmentBadSignature
        case .enrollmentMismatch: .enrollmentMismatch
        case .enrollmentExpired: .enrollmentExpired
        case .rotationInvalid: .rotationInvalid
        }
    }
}
