/// Options of a watch (etcd WatchCreateRequest).
public struct EtcdWatchOptions: Sendable, Hashable {
    /// Deliver changes from this revision on (history included); 0 for changes after now.
    /// After a reconnect the client resumes from the revision after the last one it delivered.
    public var startRevision: Int64
    /// Put the previous key-value into each event.
    public var prevKV: Bool
    /// Ask etcd for progress notifications when nothing changes (every 10 minutes in 3.4).
    public var progressNotify: Bool

    public init(startRevision: Int64 = 0, prevKV: Bool = false, progressNotify: Bool = false) {
        self.startRevision = startRevision
        self.prevKV = prevKV
        self.progressNotify = progressNotify
    }
}

/// One change of a key.
public struct EtcdEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case put
        case delete
    }

    public var kind: Kind
    /// After the change. For a delete: only the key and the delete's `modRevision`.
    public var kv: EtcdKeyValue
    /// Before the change, with `prevKV` (nil for the first put of a key).
    public var prevKV: EtcdKeyValue?

    public init(kind: Kind, kv: EtcdKeyValue, prevKV: EtcdKeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.prevKV = prevKV
    }
}

/// What a watch stream delivers.
public enum EtcdWatchUpdate: Sendable, Hashable {
    /// The watch is established (again, after a reconnect) at this store revision.
    case created(revision: Int64)
    /// Changes, in revision order; `revision` is the store revision of the reply header.
    case events([EtcdEvent], revision: Int64)
    /// Nothing changed up to this revision (with `progressNotify`).
    case progress(revision: Int64)
    /// The revision to resume from was compacted, so changes were lost. This is the last
    /// element: the stream ends after it. Re-read with `range` and start a new watch from
    /// the range's `header.revision + 1`.
    case compacted(compactRevision: Int64)
}

/// The stream a watch returns. It ends after `.compacted`, and throws an `EtcdError` when
/// etcd cancels the watch (`.watchCanceled`) or every reconnect failed (`.unavailable`).
/// Stopping the iteration (or canceling its task) closes the connection.
public typealias EtcdWatchStream = AsyncThrowingStream<EtcdWatchUpdate, any Error>
