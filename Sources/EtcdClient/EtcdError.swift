/// Everything that can go wrong talking to etcd. Each case names the operation (`range`,
/// `put`, ... as in `EtcdOperation`) and the endpoint it happened on, and carries the curl
/// code, HTTP status or etcd error (gRPC code and message) it came from.
public enum EtcdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration cannot work: no endpoints, an endpoint that is not http(s)://host:port,
    /// a TLS file that does not exist, a watch on an empty key.
    case invalidConfiguration(String)
    /// An argument that cannot be sent (an empty key, a negative revision, ...).
    case invalidArgument(op: String, reason: String)
    /// libcurl failed: connection refused, TLS handshake, reset, empty reply. `message` is
    /// libcurl's error buffer, or `curl_easy_strerror` when the buffer is empty.
    case transport(op: String, endpoint: String, curlCode: Int, message: String)
    /// The connect timeout or the call's total timeout passed.
    case timeout(op: String, endpoint: String, after: Duration)
    /// etcd answered with its error body `{"error","message","code"}`: the HTTP status and
    /// the gRPC code (`EtcdGRPCCode`) with etcd's message, e.g. 400/11 "etcdserver: mvcc:
    /// required revision has been compacted", 401/16 "etcdserver: invalid auth token".
    case server(op: String, endpoint: String, httpStatus: Int, code: Int, message: String)
    /// A non-2xx reply that is not etcd's error body (a proxy, a wrong path: 404 "Not Found").
    case http(op: String, endpoint: String, httpStatus: Int, body: String)
    /// A reply that does not decode as the answer to `op`.
    case malformed(op: String, endpoint: String, reason: String)
    /// The reply grew beyond `Configuration.maxResponseBytes`.
    case tooLarge(op: String, endpoint: String, limit: Int)
    /// The user name or password was refused (etcd: "authentication failed, invalid user ID or password").
    case authenticationFailed(endpoint: String, message: String)
    /// Keepalive or revoke of a lease etcd does not know (expired or revoked). A keepalive
    /// reply without a TTL means exactly this: etcd 3.4 answers HTTP 200 with only the ID.
    case leaseNotFound(id: Int64)
    /// etcd canceled a watch for a reason other than compaction or an expired token,
    /// e.g. "rpc error: code = PermissionDenied desc = etcdserver: permission denied".
    case watchCanceled(endpoint: String, reason: String)
    /// Every endpoint was tried and failed; the errors are in the order of the attempts.
    case unavailable(op: String, errors: [EtcdError])
    /// The client was shut down before or during the call.
    case shutdown(op: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            "invalid etcd client configuration: \(reason)"
        case .invalidArgument(let op, let reason):
            "invalid etcd \(op) request: \(reason)"
        case .transport(let op, let endpoint, let code, let message):
            "etcd \(op) at \(endpoint) failed: \(message) (curl code \(code))"
        case .timeout(let op, let endpoint, let after):
            "etcd \(op) at \(endpoint) timed out after \(after)"
        case .server(let op, let endpoint, let status, let code, let message):
            "etcd \(op) at \(endpoint) failed: \(message) (HTTP \(status), gRPC code \(code) \(EtcdGRPCCode(rawValue: code).map { "\($0)" } ?? "?"))"
        case .http(let op, let endpoint, let status, let body):
            "etcd \(op) at \(endpoint) answered HTTP \(status): \(body.debugDescription)"
        case .malformed(let op, let endpoint, let reason):
            "cannot decode the etcd \(op) reply from \(endpoint): \(reason)"
        case .tooLarge(let op, let endpoint, let limit):
            "etcd \(op) reply from \(endpoint) exceeds \(limit) bytes"
        case .authenticationFailed(let endpoint, let message):
            "etcd at \(endpoint) refused the credentials: \(message)"
        case .leaseNotFound(let id):
            "etcd lease \(id) (\(String(UInt64(bitPattern: id), radix: 16))) not found: expired or revoked"
        case .watchCanceled(let endpoint, let reason):
            "etcd at \(endpoint) canceled the watch: \(reason)"
        case .unavailable(let op, let errors):
            "etcd \(op) failed on every endpoint: " + errors.map(\.description).joined(separator: "; ")
        case .shutdown(let op):
            "etcd \(op): the client was shut down"
        }
    }

    /// The gRPC code of a `.server` error (of the last attempt for `.unavailable`).
    public var grpcCode: EtcdGRPCCode? {
        switch self {
        case .server(_, _, _, let code, _): EtcdGRPCCode(rawValue: code)
        case .unavailable(_, let errors): errors.last?.grpcCode
        default: nil
        }
    }

    /// etcd's message of a `.server` error (of the last attempt for `.unavailable`).
    public var serverMessage: String? {
        switch self {
        case .server(_, _, _, _, let message): message
        case .unavailable(_, let errors): errors.last?.serverMessage
        default: nil
        }
    }

    /// A range or watch below the compacted revision: re-read without a revision.
    public var isCompacted: Bool {
        serverMessage == EtcdServerMessage.compacted
    }

    /// A range at a revision etcd has not reached yet.
    public var isFutureRevision: Bool {
        serverMessage == EtcdServerMessage.futureRevision
    }

    /// etcd refused the token or the user's permissions (`permission denied`).
    public var isPermissionDenied: Bool {
        grpcCode == .permissionDenied
    }
}

/// gRPC status codes, which etcd puts in the `code` field of its error body.
public enum EtcdGRPCCode: Int, Sendable, Hashable, CustomStringConvertible {
    case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
         permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
         unimplemented, `internal`, unavailable, dataLoss, unauthenticated

    public var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "Canceled"
        case .unknown: "Unknown"
        case .invalidArgument: "InvalidArgument"
        case .deadlineExceeded: "DeadlineExceeded"
        case .notFound: "NotFound"
        case .alreadyExists: "AlreadyExists"
        case .permissionDenied: "PermissionDenied"
        case .resourceExhausted: "ResourceExhausted"
        case .failedPrecondition: "FailedPrecondition"
        case .aborted: "Aborted"
        case .outOfRange: "OutOfRange"
        case .unimplemented: "Unimplemented"
        case .internal: "Internal"
        case .unavailable: "Unavailable"
        case .dataLoss: "DataLoss"
        case .unauthenticated: "Unauthenticated"
        }
    }
}

/// Messages etcd 3.4 sends that the client acts on (etcdserver/api/v3rpc/rpctypes).
enum EtcdServerMessage {
    static let compacted = "etcdserver: mvcc: required revision has been compacted"
    static let futureRevision = "etcdserver: mvcc: required revision is a future revision"
    static let invalidToken = "etcdserver: invalid auth token"
    static let userEmpty = "etcdserver: user name is empty"
    static let authOldRevision = "etcdserver: revision of auth store is old"
    static let authNotEnabled = "etcdserver: authentication is not enabled"
    static let leaseNotFound = "etcdserver: requested lease not found"
    static let noLeader = "etcdserver: no leader"
}
