/// A lease as granted or renewed: its ID and the TTL etcd set, in seconds. etcd raises a
/// TTL below its minimum (1.5 election timeouts rounded up to a second: 2 s by default).
public struct EtcdLease: Sendable, Hashable {
    public var header: EtcdResponseHeader
    public var id: Int64
    public var ttlSeconds: Int64

    public init(header: EtcdResponseHeader, id: Int64, ttlSeconds: Int64) {
        self.header = header
        self.id = id
        self.ttlSeconds = ttlSeconds
    }
}
