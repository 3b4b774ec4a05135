import EtcdClient
import TincControl

/// What this agent knows of the registry: the last valid record of every node and which
/// nodes hold an `alive/` key. Built from a range and kept current by watch events; pure.
public struct RegistryView: Sendable {
    public let prefix: String
    public let maxRecordBytes: Int
    /// The last valid record per node. A rejected update leaves the previous one in place,
    /// so a hostile write changes no file.
    public private(set) var records: [TincNodeName: ValidNodeRecord] = [:]
    public private(set) var alive: Set<TincNodeName> = []
    /// The store revision the view reflects.
    public private(set) var revision: Int64 = 0

    /// What one change did, for the caller's logs and counters.
    public enum Change: Sendable, Hashable {
        case added(TincNodeName)
        case updated(TincNodeName, keyChanged: Bool)
        case removed(TincNodeName)
        case rejected(key: String, revision: Int64, RegistryRejection)
        case becameAlive(TincNodeName)
        case becameDead(TincNodeName)
    }

    public init(prefix: String, maxRecordBytes: Int) {
        self.prefix = prefix
        self.maxRecordBytes = maxRecordBytes
    }

    var nodesPrefix: String { prefix + "nodes/" }
    var alivePrefix: String { prefix + "alive/" }

    /// Replaces the view with a full range of the prefix (at start, after a compaction or a
    /// lost watch). Returns what changed relative to the previous view.
    public mutating func reset(_ kvs: [EtcdKeyValue], revision: Int64) -> [Change] {
        let old = self
        records = [:]
        alive = []
        var changes: [Change] = []
        for kv in kvs {
            for change in apply(put: kv) {
                if case .rejected = change { changes.append(change) }
            }
        }
        self.revision = revision
        for (name, record) in records {
            if let before = old.records[name] {
                if before.hostFile != record.hostFile {
                    changes.append(.updated(name, keyChanged: before.key != record.key))
                }
            } else {
                changes.append(.added(name))
            }
        }
        for name in old.records.keys where records[name] == nil { changes.append(.removed(name)) }
        for name in alive.subtracting(old.alive) { changes.append(.becameAlive(name)) }
        for name in old.alive.subtracting(alive) { changes.append(.becameDead(name)) }
        return changes
    }

    /// Applies watch events in order.
    public mutating func apply(_ events: [EtcdEvent], revision: Int64) -> [Change] {
        var changes: [Change] = []
        for event in events {
            switch event.kind {
            case .put: changes += apply(put: event.kv)
            case .delete: changes += apply(delete: event.kv)
            }
        }
        self.revision = max(self.revision, revision)
        return changes
    }

    mutating func apply(put kv: EtcdKeyValue) -> [Change] {
        let key = kv.keyString
        if key.hasPrefix(nodesPrefix) {
            guard let name = RegistryRecordCheck.name(fromKey: key, prefix: nodesPrefix) else {
                return [.rejected(key: key, revision: kv.modRevision, .invalidName)]
            }
            switch RegistryRecordCheck.check(name: name, value: kv.value, maxBytes: maxRecordBytes) {
            case .failure(let reason):
                return [.rejected(key: key, revision: kv.modRevision, reason)]
            case .success(let record):
                let before = records[name]
                records[name] = record
                guard let before else { return [.added(name)] }
                return before.hostFile == record.hostFile ? [] : [.updated(name, keyChanged: before.key != record.key)]
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

    mutating func apply(delete kv: EtcdKeyValue) -> [Change] {
        let key = kv.keyString
        if let name = RegistryRecordCheck.name(fromKey: key, prefix: nodesPrefix) {
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
}
