/// The bounded set of operation names the client reports to its observer and puts in its
/// errors: the `op` label of `bgpmesh_etcd_request_duration_seconds`.
public enum EtcdOperation: String, Sendable, CaseIterable {
    case range
    case put
    case delete
    case txn
    case leaseGrant = "lease_grant"
    case leaseKeepAlive = "lease_keepalive"
    case leaseRevoke = "lease_revoke"
    case watch
    case status
    case memberList = "member_list"
    case health
    case auth

    /// A retry after the request may have reached etcd cannot change the outcome.
    /// Mutations fail over only when nothing was sent (clientv3 does the same).
    var isIdempotent: Bool {
        switch self {
        case .range, .leaseKeepAlive, .status, .memberList, .health, .auth, .watch: true
        case .put, .delete, .txn, .leaseGrant, .leaseRevoke: false
        }
    }
}
