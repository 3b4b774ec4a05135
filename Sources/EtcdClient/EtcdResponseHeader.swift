/// The header of every etcd reply. etcd 3.4 omits zero fields, so a member list has no
/// revision and the headers inside a txn carry only the revision: those read as 0.
public struct EtcdResponseHeader: Sendable, Hashable {
    public var clusterID: UInt64
    public var memberID: UInt64
    /// The store revision when the request was served.
    public var revision: Int64
    public var raftTerm: UInt64

    public init(clusterID: UInt64 = 0, memberID: UInt64 = 0, revision: Int64 = 0, raftTerm: UInt64 = 0) {
        self.clusterID = clusterID
        self.memberID = memberID
        self.revision = revision
        self.raftTerm = raftTerm
    }
}
