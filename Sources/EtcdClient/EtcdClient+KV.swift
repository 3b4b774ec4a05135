extension EtcdClient {
    /// Reads keys (etcd Range): one key, a prefix or a range, at the newest or a given revision.
    public func range(_ keys: EtcdKeyRange, options: EtcdRangeOptions = EtcdRangeOptions()) async throws(EtcdError) -> EtcdRangeResponse {
        try Self.validate(keys, op: .range)
        guard options.limit >= 0, options.revision >= 0 else {
            throw .invalidArgument(op: EtcdOperation.range.rawValue, reason: "negative limit or revision")
        }
        return try await call(.range, path: "/v3/kv/range", body: EtcdWire.encode(WireRangeRequest(keys, options))) { reply throws(EtcdError) in
            try reply.decode(.range, EtcdWire.range)
        }
    }

    /// One key, or nil if it does not exist.
    public func get(_ key: String) async throws(EtcdError) -> EtcdKeyValue? {
        try await range(.key(key)).kvs.first
    }

    /// Writes a key, attached to `lease` unless it is 0.
    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: Int64 = 0, prevKV: Bool = false) async throws(EtcdError) -> EtcdPutResponse {
        try Self.validate(.key(key), op: .put)
        return try await call(.put, path: "/v3/kv/put", body: EtcdWire.encode(WirePutRequest(key: key, value: value, lease: lease, prevKV: prevKV))) { reply throws(EtcdError) in
            try reply.decode(.put, EtcdWire.put)
        }
    }

    /// Writes a key with a UTF-8 value.
    @discardableResult
    public func put(_ key: String, value: String, lease: Int64 = 0, prevKV: Bool = false) async throws(EtcdError) -> EtcdPutResponse {
        try await put(key, value: Array(value.utf8), lease: lease, prevKV: prevKV)
    }

    /// Deletes keys (etcd DeleteRange).
    @discardableResult
    public func delete(_ keys: EtcdKeyRange, prevKV: Bool = false) async throws(EtcdError) -> EtcdDeleteResponse {
        try Self.validate(keys, op: .delete)
        return try await call(.delete, path: "/v3/kv/deleterange", body: EtcdWire.encode(WireDeleteRequest(keys, prevKV: prevKV))) { reply throws(EtcdError) in
            try reply.decode(.delete, EtcdWire.delete)
        }
    }

    /// Runs a transaction. A failed comparison is not an error: `succeeded` is false and the
    /// responses are those of the failure branch.
    public func txn(_ txn: EtcdTxn) async throws(EtcdError) -> EtcdTxnResponse {
        for compare in txn.compare { try Self.validate(.key(compare.key), op: .txn) }
        for op in txn.success + txn.failure {
            switch op {
            case .range(let keys, _), .delete(let keys, _): try Self.validate(keys, op: .txn)
            case .put(let key, _, _, _): try Self.validate(.key(key), op: .txn)
            }
        }
        return try await call(.txn, path: "/v3/kv/txn", body: EtcdWire.encode(WireTxnRequest(txn))) { reply throws(EtcdError) in
            try reply.decode(.txn, EtcdWire.txn)
        }
    }

    /// etcd refuses an empty key ("key is not provided"); catch it before sending.
    static func validate(_ keys: EtcdKeyRange, op: EtcdOperation) throws(EtcdError) {
        switch keys {
        case .key(let key), .range(let key, _):
            if key.isEmpty { throw .invalidArgument(op: op.rawValue, reason: "empty key") }
        case .prefix, .fromKey:
            break
        }
    }
}
