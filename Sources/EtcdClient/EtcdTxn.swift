/// A transaction: if every comparison holds, run `success`, otherwise `failure`; atomically.
public struct EtcdTxn: Sendable, Hashable {
    public var compare: [EtcdCompare]
    public var success: [EtcdTxnOp]
    public var failure: [EtcdTxnOp]

    public init(compare: [EtcdCompare], success: [EtcdTxnOp], failure: [EtcdTxnOp] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

/// One comparison of a transaction: `target(key) op value`.
public struct EtcdCompare: Sendable, Hashable {
    /// What is compared, with the value it is compared to.
    public enum Target: Sendable, Hashable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value([UInt8])
        case lease(Int64)
    }

    public enum Operator: String, Sendable, Hashable {
        case equal = "EQUAL"
        case greater = "GREATER"
        case less = "LESS"
        case notEqual = "NOT_EQUAL"
    }

    public var key: String
    public var target: Target
    public var op: Operator

    public init(key: String, target: Target, op: Operator = .equal) {
        self.key = key
        self.target = target
        self.op = op
    }

    /// The key does not exist (its create revision is 0).
    public static func missing(_ key: String) -> EtcdCompare {
        EtcdCompare(key: key, target: .createRevision(0))
    }

    /// The key exists.
    public static func exists(_ key: String) -> EtcdCompare {
        EtcdCompare(key: key, target: .createRevision(0), op: .greater)
    }

    /// The key was last changed at this revision: compare-and-swap on a value read earlier.
    public static func modRevision(_ key: String, equals revision: Int64) -> EtcdCompare {
        EtcdCompare(key: key, target: .modRevision(revision))
    }

    /// The key holds exactly this value.
    public static func value(_ key: String, equals value: [UInt8]) -> EtcdCompare {
        EtcdCompare(key: key, target: .value(value))
    }
}

/// One operation inside a transaction.
public enum EtcdTxnOp: Sendable, Hashable {
    case range(EtcdKeyRange, EtcdRangeOptions = EtcdRangeOptions())
    case put(key: String, value: [UInt8], lease: Int64 = 0, prevKV: Bool = false)
    case delete(EtcdKeyRange, prevKV: Bool = false)
}

/// The result of one operation of the branch that ran.
public enum EtcdTxnOpResponse: Sendable, Hashable {
    case range(EtcdRangeResponse)
    case put(EtcdPutResponse)
    case delete(EtcdDeleteResponse)
}

/// The reply to a transaction. etcd 3.4 omits `succeeded` when it is false.
public struct EtcdTxnResponse: Sendable, Hashable {
    public var header: EtcdResponseHeader
    /// True if the comparisons held and `success` ran.
    public var succeeded: Bool
    /// One per operation of the branch that ran, in order.
    public var responses: [EtcdTxnOpResponse]

    public init(header: EtcdResponseHeader, succeeded: Bool, responses: [EtcdTxnOpResponse] = []) {
        self.header = header
        self.succeeded = succeeded
        self.responses = responses
    }
}
