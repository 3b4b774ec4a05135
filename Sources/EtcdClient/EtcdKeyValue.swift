/// One key with its value and revisions, as etcd stores it. Keys and values are bytes;
/// `keyString` and `valueString` decode them as UTF-8.
public struct EtcdKeyValue: Sendable, Hashable {
    public var key: [UInt8]
    /// Empty for `keysOnly` ranges and for the kv of a delete event.
    public var value: [UInt8]
    /// The revision of the last creation of the key; 0 in a delete event.
    public var createRevision: Int64
    /// The revision of the last change (the delete itself in a delete event).
    public var modRevision: Int64
    /// Changes since creation; 0 in a delete event.
    public var version: Int64
    /// The lease the key is attached to, 0 for none.
    public var lease: Int64

    public init(key: [UInt8], value: [UInt8] = [], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    public var keyString: String { String(decoding: key, as: UTF8.self) }
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}
