/// The reply to maintenance status for one member.
public struct EtcdStatus: Sendable, Hashable {
    public var header: EtcdResponseHeader
    /// The etcd server version, e.g. `3.4.23`.
    public var version: String
    /// Bytes of the backend database, allocated and in use.
    public var dbSize: Int64
    public var dbSizeInUse: Int64
    /// The member ID of the leader, 0 without a leader.
    public var leader: UInt64
    public var raftIndex: UInt64
    public var raftTerm: UInt64
    public var raftAppliedIndex: UInt64
    /// Alarms and errors the member reports (`NOSPACE`, ...).
    public var errors: [String]
    public var isLearner: Bool

    public init(header: EtcdResponseHeader, version: String = "", dbSize: Int64 = 0, dbSizeInUse: Int64 = 0, leader: UInt64 = 0,
                raftIndex: UInt64 = 0, raftTerm: UInt64 = 0, raftAppliedIndex: UInt64 = 0, errors: [String] = [], isLearner: Bool = false) {
        self.header = header
        self.version = version
        self.dbSize = dbSize
        self.dbSizeInUse = dbSizeInUse
        self.leader = leader
        self.raftIndex = raftIndex
        self.raftTerm = raftTerm
        self.raftAppliedIndex = raftAppliedIndex
        self.errors = errors
        self.isLearner = isLearner
    }

    /// The member that answered is the leader.
    public var isLeader: Bool { leader != 0 && leader == header.memberID }
}

/// One member of the cluster. A member that was added but never started has no name and
/// no client URLs.
public struct EtcdMember: Sendable, Hashable {
    public var id: UInt64
    public var name: String
    public var peerURLs: [String]
    public var clientURLs: [String]
    public var isLearner: Bool

    public init(id: UInt64, name: String = "", peerURLs: [String] = [], clientURLs: [String] = [], isLearner: Bool = false) {
        self.id = id
        self.name = name
        self.peerURLs = peerURLs
        self.clientURLs = clientURLs
        self.isLearner = isLearner
    }
}

/// The reply to member list.
public struct EtcdMemberList: Sendable, Hashable {
    public var header: EtcdResponseHeader
    public var members: [EtcdMember]

    public init(header: EtcdResponseHeader, members: [EtcdMember] = []) {
        self.header = header
        self.members = members
    }
}

/// `GET /health`: `{"health":"true"}`, or `"false"` with HTTP 503 (no leader, alarms).
public struct EtcdHealth: Sendable, Hashable {
    public var healthy: Bool
    /// etcd 3.4.23 adds no reason; later versions do.
    public var reason: String?

    public init(healthy: Bool, reason: String? = nil) {
        self.healthy = healthy
        self.reason = reason
    }
}
