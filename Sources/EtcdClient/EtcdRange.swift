/// Options of a range request (etcd RangeRequest).
public struct EtcdRangeOptions: Sendable, Hashable {
    /// At most this many keys; 0 for no limit. `more` in the reply says whether keys were left out.
    public var limit: Int64
    /// Read at this revision; 0 for the newest. Below the compacted revision etcd answers
    /// `EtcdError.server` with `isCompacted`.
    public var revision: Int64
    /// Keys and revisions, no values.
    public var keysOnly: Bool
    /// Only the count; `kvs` is empty.
    public var countOnly: Bool
    /// Served by the member alone, without a quorum read: faster, maybe stale.
    public var serializable: Bool

    public init(limit: Int64 = 0, revision: Int64 = 0, keysOnly: Bool = false, countOnly: Bool = false, serializable: Bool = false) {
        self.limit = limit
        self.revision = revision
        self.keysOnly = keysOnly
        self.countOnly = countOnly
        self.serializable = serializable
    }
}

/// The reply to a range. An empty range has no `kvs` and no `count` on the wire: both read
/// as empty and 0.
public struct EtcdRangeResponse: Sendable, Hashable {
    public var header: EtcdResponseHeader
    /// Sorted by key, ascending.
    public var kvs: [EtcdKeyValue]
    /// True when `limit` left keys out.
    public var more: Bool
    /// The number of keys in the range (not limited by `limit`).
    public var count: Int64

    public init(header: EtcdResponseHeader, kvs: [EtcdKeyValue] = [], more: Bool = false, count: Int64 = 0) {
        self.header = header
        self.kvs = kvs
        self.more = more
        self.count = count
    }
}

/// The reply to a put.
public struct EtcdPutResponse: Sendable, Hashable {
    public var header: EtcdResponseHeader
    /// The key before the put, when `prevKV` was asked and the key existed.
    public var prevKV: EtcdKeyValue?

    public init(header: EtcdResponseHeader, prevKV: EtcdKeyValue? = nil) {
        self.header = header
        self.prevKV = prevKV
    }
}

/// The reply to a delete (etcd DeleteRange).
public struct EtcdDeleteResponse: Sendable, Hashable {
    public var header: EtcdResponseHeader
    /// How many keys were deleted.
    public var deleted: Int64
    /// The deleted keys, when `prevKV` was asked.
    public var prevKVs: [EtcdKeyValue]

    public init(header: EtcdResponseHeader, deleted: Int64 = 0, prevKVs: [EtcdKeyValue] = []) {
        self.header = header
        self.deleted = deleted
        self.prevKVs = prevKVs
    }
}
